"""OCR module: Chinese resident ID cards, bank cards and general documents."""
