"""DICOM networking: nodes, query/retrieve/store by DIMSE (pynetdicom, DICOM TLS) or DICOMweb
(dicomweb-client), and the C-STORE handler they share. No Qt here; the workflows that also
write result objects (listener, PACS scan) are in `cxr_model.pacs`."""
