"""Codes used in the result SR (why each one: docs/pacs.md, "Codes in the SR").

Standard concepts come from DCM (DICOM's own terminology), SNOMED CT (SCT) and UCUM. The
model's own outputs, for which no standard concept exists, use the private coding scheme
99CXR, declared in the Coding Scheme Identification Sequence of every SR we write.
"""

from __future__ import annotations

from highdicom.coding_schemes import CodingSchemeIdentificationItem
from pydicom.sr.codedict import codes
from pydicom.sr.coding import Code

PRIVATE_SCHEME = "99CXR"
CODING_SCHEME = CodingSchemeIdentificationItem(
    designator=PRIVATE_SCHEME,
    name="CXR Desktop AI second reader outputs",
    responsible_organization="CXR Desktop project",
)

#: Document title (CID 7021): DCM 126000 "Imaging Measurement Report".
TITLE = codes.cid7021.ImagingMeasurementReport
#: Procedure reported: SCT 399208008 "Plain X-ray of chest".
PROCEDURE = Code("399208008", "SCT", "Plain X-ray of chest")
#: Finding site of the whole-image group: SCT 816094009 "Chest".
CHEST = codes.SCT.Chest
#: Finding type of the group: SCT 365853002 "Imaging finding".
FINDING_TYPE = codes.SCT.ImagingFinding

#: The three probabilities of "abnormal" (one per model head).
P_FUSED = Code("CXR001", PRIVATE_SCHEME, "P(abnormal), image and report")
P_IMAGE = Code("CXR002", PRIVATE_SCHEME, "P(abnormal), image only")
P_TEXT = Code("CXR003", PRIVATE_SCHEME, "P(abnormal), report only")
#: The decision threshold applied to the probability: DCM 122411 "Threshold Value".
THRESHOLD = codes.DCM.ThresholdValue
#: Probabilities and thresholds are dimensionless: UCUM "1".
NO_UNITS = codes.UCUM.NoUnits

#: The label: DCM 121402 "Normality" with a CID 222 value.
NORMALITY = codes.DCM.Normality
NORMAL = codes.SCT.Normal  # SCT 17621005
ABNORMAL = codes.SCT.Abnormal  # SCT 263654008
UNDETERMINED = codes.SCT.NormalityUndetermined  # SCT 371934000: outside the population

#: Flags, each valued SCT Yes / No.
OUT_OF_DISTRIBUTION = Code(
    "CXR010", PRIVATE_SCHEME, "Input outside the model's training distribution"
)
OOD_REASON = Code("CXR011", PRIVATE_SCHEME, "Reason the input is outside the distribution")
OOD_AGE = Code("CXR012", PRIVATE_SCHEME, "Patient age outside the training ages")
OOD_IMAGE = Code("CXR013", PRIVATE_SCHEME, "Image unlike the training X-rays")
DISCORDANT = Code("CXR020", PRIVATE_SCHEME, "Image and report point to different labels")
UNCERTAIN = Code("CXR021", PRIVATE_SCHEME, "Probability within the uncertainty margin")
YES = codes.SCT.Yes
NO = codes.SCT.No


def yes_no(flag: bool) -> Code:
    return YES if flag else NO
