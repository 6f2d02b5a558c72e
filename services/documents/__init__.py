"""Documents service: the PDF of every sealed acta, rendered and PAdES-signed."""
