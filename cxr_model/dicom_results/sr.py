"""The result as a Comprehensive 3D SR: a TID 1500 measurement report of one image-level
group (probabilities, threshold, label, flags), naming our model as the algorithm."""

from __future__ import annotations

import highdicom as hd
from highdicom.sr import (
    AlgorithmIdentification,
    Comprehensive3DSR,
    DeviceObserverIdentifyingAttributes,
    FindingSite,
    Measurement,
    MeasurementReport,
    MeasurementsAndQualitativeEvaluations,
    ObservationContext,
    ObserverContext,
    QualitativeEvaluation,
    SourceImageForMeasurementGroup,
    TrackingIdentifier,
)
from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes as dcm_codes

from cxr_model.dicom_results import codes
from cxr_model.dicom_results.identity import MANUFACTURER, SERIES_SR, ModelIdentity
from cxr_model.inference.predictor import Prediction
from cxr_model.vocabulary import Label

#: Series Number given to our result series (viewers sort them after the source series).
SR_SERIES_NUMBER = 9901
SC_SERIES_NUMBER = 9902


def _label(prediction: Prediction):
    if not prediction.has_label:  # no label outside the training population
        return codes.UNDETERMINED
    return codes.ABNORMAL if prediction.label == Label.ABNORMAL else codes.NORMAL


def _measurement(name, value: float, algorithm: AlgorithmIdentification) -> Measurement:
    return Measurement(
        name=name, value=round(float(value), 6), unit=codes.NO_UNITS, algorithm_id=algorithm
    )


def result_group(
    source: Dataset, prediction: Prediction, identity: ModelIdentity
) -> MeasurementsAndQualitativeEvaluations:
    """TID 1501: the image-level measurements and evaluations of one prediction."""
    algorithm = AlgorithmIdentification(
        name=identity.model_name, version=identity.version, parameters=identity.parameters()
    )
    measurements = [
        _measurement(
            codes.P_FUSED if prediction.used_report else codes.P_IMAGE,
            prediction.probability,
            algorithm,
        )
    ]
    if prediction.used_report:
        measurements.append(_measurement(codes.P_IMAGE, prediction.image_probability, algorithm))
        if prediction.text_probability is not None:
            measurements.append(_measurement(codes.P_TEXT, prediction.text_probability, algorithm))
    measurements.append(_measurement(codes.THRESHOLD, prediction.threshold, algorithm))
    evaluations = [
        QualitativeEvaluation(codes.NORMALITY, _label(prediction)),
        QualitativeEvaluation(codes.OUT_OF_DISTRIBUTION, codes.yes_no(bool(prediction.ood))),
        QualitativeEvaluation(codes.DISCORDANT, codes.yes_no(prediction.discordant)),
        QualitativeEvaluation(codes.UNCERTAIN, codes.yes_no(prediction.uncertain)),
    ]
    if prediction.ood_reason:
        reason = codes.OOD_AGE if not prediction.has_label else codes.OOD_IMAGE
        evaluations.append(QualitativeEvaluation(codes.OOD_REASON, reason))
    return MeasurementsAndQualitativeEvaluations(
        tracking_identifier=TrackingIdentifier(uid=hd.UID(), identifier="AI second reader result"),
        finding_type=codes.FINDING_TYPE,
        algorithm_id=algorithm,
        finding_sites=[FindingSite(codes.CHEST)],
        measurements=measurements,
        qualitative_evaluations=evaluations,
        source_images=[SourceImageForMeasurementGroup.from_source_image(source)],
    )


def build_sr(
    source: Dataset,
    prediction: Prediction,
    identity: ModelIdentity,
    instance_uid: str | None = None,
    series_uid: str | None = None,
) -> Comprehensive3DSR:
    """A Comprehensive 3D SR in the source image's study (patient and study copied, a new
    series), referencing the source image."""
    observer = ObserverContext(
        observer_type=dcm_codes.DCM.Device,
        observer_identifying_attributes=DeviceObserverIdentifyingAttributes(
            uid=hd.UID(),
            name=identity.model_name,
            manufacturer_name=MANUFACTURER,
            model_name=identity.model_name,
        ),
    )
    report = MeasurementReport(
        observation_context=ObservationContext(observer_device_context=observer),
        procedure_reported=codes.PROCEDURE,
        imaging_measurements=[result_group(source, prediction, identity)],
        title=codes.TITLE,
    )
    return Comprehensive3DSR(
        evidence=[source],
        content=report[0],
        series_instance_uid=series_uid or hd.UID(),
        series_number=SR_SERIES_NUMBER,
        sop_instance_uid=instance_uid or hd.UID(),
        instance_number=1,
        manufacturer=MANUFACTURER,
        manufacturer_model_name=identity.model_name,
        software_versions=identity.software_versions(),
        series_description=SERIES_SR,
        is_complete=True,
        coding_schemes=[codes.CODING_SCHEME],
    )
