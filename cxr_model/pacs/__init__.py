"""PACS workflows above the network (`dicom_net`) and the result objects (`dicom_results`):
the `cxr listen` receiver and the PACS scan, which receive, score and send results back."""
