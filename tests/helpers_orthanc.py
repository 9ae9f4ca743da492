"""A real Orthanc for the tests that speak DICOM over the network: started from a temporary
JSON config on 127.0.0.1 ports chosen free, with the DICOMweb plugin and our AE title in
DicomModalities, stopped by its PID. Plus the DICOM studies the tests load into it (real
X-rays, real-looking headers), DCMTK's storescu and dicom3tools' dciodvfy."""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pydicom
from helpers_dicom import make_dicom
from PIL import Image
from pydicom.uid import generate_uid

ORTHANC = shutil.which("Orthanc")
DICOMWEB_PLUGIN = Path("/usr/share/orthanc/plugins/libOrthancDicomWeb.so")
OUR_AET = "CXRDESKTOP"
PACS_AET = "ORTHANC"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


#: pynetdicom installs Python apps named like DCMTK's tools into the environment's bin folder;
#: the tests and benchmarks want DCMTK's, the independent implementation.
_OWN_BIN = Path(sys.executable).parent


def dcmtk(tool: str) -> str | None:
    """The path of a DCMTK (or other system) tool on PATH, skipping this environment's bin
    folder, where pynetdicom's same-named apps live; None when it is not installed."""
    folders = [
        folder
        for folder in os.environ.get("PATH", os.defpath).split(os.pathsep)
        if folder and Path(folder).resolve() != _OWN_BIN.resolve()
    ]
    return shutil.which(tool, path=os.pathsep.join(folders))


def missing_tools(*tools: str) -> list[str]:
    return [tool for tool in tools if dcmtk(tool) is None]


@dataclass
class Orthanc:
    """A running Orthanc: its DIMSE node, its DICOMweb root, and the port it moves to."""

    process: subprocess.Popen
    http_port: int
    dicom_port: int
    move_port: int
    log: Path
    scheme: str = "http"
    user: tuple[str, str] | None = None  # a registered user (AuthenticationEnabled)
    ca: Path | None = None  # the CA of its HTTPS certificate

    @property
    def dimse(self) -> str:
        return f"{PACS_AET}@127.0.0.1:{self.dicom_port}"

    @property
    def web(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.http_port}/dicom-web"

    def rest(self, path: str, method: str = "GET", body: bytes | None = None):
        request = urllib.request.Request(
            f"{self.scheme}://127.0.0.1:{self.http_port}{path}", data=body, method=method
        )
        if self.user:
            token = base64.b64encode(":".join(self.user).encode()).decode()
            request.add_header("Authorization", f"Basic {token}")
        context = ssl.create_default_context(cafile=str(self.ca)) if self.ca else None
        with urllib.request.urlopen(request, timeout=30, context=context) as answer:
            data = answer.read()
        return json.loads(data) if data else None

    def study_instances(self, study_uid: str) -> list[dict]:
        """The instances Orthanc lists in a study (tags simplified)."""
        found = self.rest("/tools/lookup", "POST", study_uid.encode())
        if not found:
            return []
        return self.rest(f"/studies/{found[0]['ID']}/instances?expand")

    def series_modalities(self, study_uid: str) -> list[str]:
        """The modality of each series Orthanc lists in a study, sorted."""
        found = self.rest("/tools/lookup", "POST", study_uid.encode())
        if not found:
            return []
        series = self.rest(f"/studies/{found[0]['ID']}/series?expand")
        return sorted(s["MainDicomTags"].get("Modality", "") for s in series)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)


def start_orthanc(
    folder: Path,
    overrides: dict | None = None,
    user: tuple[str, str] | None = None,
    ca: Path | None = None,
    move_over_tls: bool = False,
) -> Orthanc:
    """Start Orthanc with its own config and storage under `folder` (`overrides` on top: a
    registered `user`, HTTPS whose certificate `ca` signed, C-MOVE to us over TLS); wait until
    it answers."""
    http_port, dicom_port, move_port = free_port(), free_port(), free_port()
    storage = folder / "storage"
    storage.mkdir(parents=True)
    config = {
        "Name": "CXR-TEST-PACS",
        "StorageDirectory": str(storage),
        "IndexDirectory": str(storage),
        "HttpPort": http_port,
        "DicomPort": dicom_port,
        "DicomAet": PACS_AET,
        "RemoteAccessAllowed": False,
        "AuthenticationEnabled": False,
        "DicomCheckCalledAet": True,  # a wrong called AE title is an association rejection
        "DicomModalities": {
            "cxr": {"AET": OUR_AET, "Host": "127.0.0.1", "Port": move_port}
            | ({"UseDicomTls": True} if move_over_tls else {})
        },
        "DicomScuTimeout": 5,
        "StableAge": 1,
        "HttpThreadsCount": 4,
        "Plugins": [str(DICOMWEB_PLUGIN)],
        "DicomWeb": {"Enable": True, "Root": "/dicom-web/", "StudiesMetadata": "MainDicomTags"},
        **(overrides or {}),
    }
    path = folder / "orthanc.json"
    path.write_text(json.dumps(config, indent=1))
    log = folder / "orthanc.log"
    with open(log, "wb") as out:
        process = subprocess.Popen([ORTHANC, str(path)], stdout=out, stderr=subprocess.STDOUT)
    scheme = "https" if config.get("SslEnabled") else "http"
    server = Orthanc(process, http_port, dicom_port, move_port, log, scheme, user, ca)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"Orthanc exited: {log.read_text()[-2000:]}")
        try:
            server.rest("/system")
            with socket.create_connection(("127.0.0.1", dicom_port), timeout=1):
                return server
        except OSError:
            time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"Orthanc did not answer in 30 s: {log.read_text()[-2000:]}")


def storescu(
    port: int, files: list[Path], aet: str = "LOADER", called: str = PACS_AET, timeout: float = 120
) -> subprocess.CompletedProcess:
    """DCMTK storescu (an independent client) sends files to 127.0.0.1:port."""
    return subprocess.run(
        [
            dcmtk("storescu"),
            "-aet",
            aet,
            "-aec",
            called,
            "-nh",
            "127.0.0.1",
            str(port),
            *map(str, files),
        ],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def xray_pixels(path: Path, width: int = 320) -> np.ndarray:
    """A real X-ray, downscaled (small files keep the suite lean), as uint8."""
    with Image.open(path) as im:
        im = im.convert("L")
        height = round(im.height * width / im.width)
        return np.asarray(im.resize((width, height), Image.BILINEAR))


def write_study(
    folder: Path,
    pixels: np.ndarray,
    patient_id: str,
    views: tuple[tuple[str, str], ...] = (("CR", "PA"),),
    **header,
) -> list[Path]:
    """One study of X-rays (modality, view position each) with real-looking patient and study
    modules; returns its files."""
    study_uid = generate_uid()
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for number, (modality, view) in enumerate(views, start=1):
        values = {
            "PatientName": f"Test^{patient_id}",
            "PatientID": patient_id,
            "PatientBirthDate": "20210301",
            "PatientSex": "F",
            "PatientAge": "004Y",
            "StudyInstanceUID": study_uid,
            "StudyDate": "20250314",
            "StudyTime": "101500",
            "StudyID": "1",
            "AccessionNumber": f"A{patient_id[-6:]}",
            "ReferringPhysicianName": "Ref^Doctor",
            "StudyDescription": "XR CHEST",
            "SeriesInstanceUID": generate_uid(),
            "SeriesNumber": number,
            "InstanceNumber": 1,
            "Modality": modality,
            "ViewPosition": view,
            "BodyPartExamined": "CHEST",
            "Manufacturer": "Test Modality",
            "PatientOrientation": ["L", "F"],
        }
        values.update(header)
        files.append(make_dicom(pixels, folder / f"{patient_id}-{number}.dcm", **values))
    return files


def _non_image(
    path: Path, sop_class: str, modality: str, study_uid: str, patient_id: str, **values
) -> Path:
    """A non-image instance (report, document) in a study, written with pydicom."""
    from pydicom.dataset import FileDataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset(str(path), {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID, ds.SOPInstanceUID = sop_class, meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID, ds.SeriesInstanceUID = study_uid, generate_uid()
    ds.PatientID, ds.PatientName, ds.Modality = patient_id, f"Test^{patient_id}", modality
    ds.SeriesNumber, ds.InstanceNumber = 1, 1
    values.setdefault("StudyDate", "20250314")
    for keyword, value in values.items():
        setattr(ds, keyword, value)
    ds.save_as(path, enforce_file_format=True)
    return path


def write_documents_study(folder: Path, patient_id: str, **header) -> list[Path]:
    """A study holding only a text SR and a PDF: no image to score."""
    folder.mkdir(parents=True, exist_ok=True)
    study_uid = generate_uid()
    sr = _non_image(
        folder / f"{patient_id}-sr.dcm",
        "1.2.840.10008.5.1.4.1.1.88.11",
        "SR",
        study_uid,
        patient_id,
        ValueType="CONTAINER",
        CompletionFlag="COMPLETE",
        VerificationFlag="UNVERIFIED",
        ContinuityOfContent="SEPARATE",
        **header,
    )
    pdf = _non_image(
        folder / f"{patient_id}-doc.dcm",
        "1.2.840.10008.5.1.4.1.1.104.1",
        "DOC",
        study_uid,
        patient_id,
        MIMETypeOfEncapsulatedDocument="application/pdf",
        EncapsulatedDocument=b"%PDF-1.4\n%%EOF\n",
        **header,
    )
    return [sr, pdf]


class SilentServer:
    """A TCP server on 127.0.0.1 that accepts connections and never answers (until closed)."""

    def __init__(self) -> None:
        import threading

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.held: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)

    def close(self) -> None:
        self.sock.close()
        for conn in self.held:
            conn.close()
        self.thread.join(timeout=5)


def dciodvfy_errors(path: Path) -> list[str]:
    """The lines of dicom3tools' validator that start with `Error` (none for a valid file)."""
    result = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True, timeout=120)
    return [
        line for line in (result.stdout + result.stderr).splitlines() if line.startswith("Error")
    ]


def store_bulk(orthanc: Orthanc, count: int, study_date: str, associations: int = 2) -> None:
    """Store `count` one-document studies (patient BULK-nnnnn) from memory, over a few
    parallel associations: the quickest way to give Orthanc thousands of matches."""
    from concurrent.futures import ThreadPoolExecutor

    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian
    from pynetdicom import AE

    pdf_class = "1.2.840.10008.5.1.4.1.1.104.1"

    def dataset(number: int) -> Dataset:
        ds = Dataset()
        ds.file_meta = FileMetaDataset()
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.SOPClassUID, ds.SOPInstanceUID = pdf_class, generate_uid()
        ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
        ds.PatientID, ds.Modality, ds.StudyDate = f"BULK-{number:05d}", "DOC", study_date
        ds.MIMETypeOfEncapsulatedDocument = "application/pdf"
        ds.EncapsulatedDocument = b"%PDF-1.4\n%%EOF\n"
        return ds

    def send(numbers: range) -> None:
        ae = AE("LOADER")
        ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 300  # a loaded CI machine
        ae.add_requested_context(pdf_class, ExplicitVRLittleEndian)
        assoc = ae.associate("127.0.0.1", orthanc.dicom_port, ae_title=PACS_AET)
        assert assoc.is_established
        try:
            for number in numbers:
                status = assoc.send_c_store(dataset(number))
                assert status and status.Status == 0, f"store {number} failed: {status}"
        finally:
            assoc.release()

    with ThreadPoolExecutor(associations) as pool:
        list(pool.map(send, [range(k, count, associations) for k in range(associations)]))


@dataclass(frozen=True)
class LoadedStudy:
    """A study loaded into the test Orthanc (by DCMTK storescu)."""

    patient_id: str
    study_uid: str
    files: list[Path]


def load_studies(
    orthanc: Orthanc, xrays: list[np.ndarray], folder: Path, study_date: str
) -> dict[str, LoadedStudy]:
    """Write and store (DCMTK storescu) four studies of one study date, named for what they
    hold: frontal (one CR PA), mixed (DX AP + CR lateral), laterals (two laterals only),
    documents (a text SR and a PDF only). Real X-rays, real-looking headers."""
    tag = study_date[-4:]
    made = {
        "frontal": write_study(
            folder / "frontal", xrays[0], f"CXRT-FRONTAL-{tag}", StudyDate=study_date
        ),
        "mixed": write_study(
            folder / "mixed",
            xrays[1],
            f"CXRT-MIXED-{tag}",
            views=(("DX", "AP"), ("CR", "LL")),
            StudyDate=study_date,
        ),
        "laterals": write_study(
            folder / "laterals",
            xrays[2],
            f"CXRT-LATERALS-{tag}",
            views=(("CR", "LL"), ("CR", "RL")),
            StudyDate=study_date,
        ),
        "documents": write_documents_study(
            folder / "documents", f"CXRT-DOCUMENTS-{tag}", StudyDate=study_date
        ),
    }
    files = [path for paths in made.values() for path in paths]
    result = storescu(orthanc.dicom_port, files)
    assert result.returncode == 0, result.stderr
    loaded = {}
    for name, paths in made.items():
        ds = pydicom.dcmread(paths[0], stop_before_pixels=True)
        loaded[name] = LoadedStudy(str(ds.PatientID), str(ds.StudyInstanceUID), paths)
    return loaded
