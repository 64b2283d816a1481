"""Marketing module: RFM segmentation and dormant-customer reactivation."""
