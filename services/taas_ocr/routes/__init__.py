"""The OCR module's HTTP API, one router per kind of image; ``taas_ocr.app`` puts them
together."""
