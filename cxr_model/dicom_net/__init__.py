"""DICOM networking: nodes, query/retrieve/store by DIMSE (pynetdicom) or DICOMweb
(dicomweb-client), the `cxr listen` receiver and the PACS scan. No Qt here."""
