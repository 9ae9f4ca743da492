"""The frozen bundle and the .deb: built once per module by the real build scripts, then run.

Builds `dist/cxr-desktop/` (packaging/build.py) and the .deb + tarball (packaging/build_deb.py),
unpacks the .deb into a temporary root (never installed system-wide) and runs the programs it
carries, offscreen. The bundled models are those of resources/models (each as
resources/models/NAME), or $CXR_BUNDLE_MODEL_DIR (a models folder or one model folder); without
a model the build refuses (no untrained weights are shipped) and these tests skip.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path
from types import SimpleNamespace

import pydicom
import pytest
from corpus import build_corpus
from helpers_dicom import make_dicom

ROOT = Path(__file__).resolve().parents[2]
PACKAGING = ROOT / "packaging"
BUNDLE = ROOT / "dist" / "cxr-desktop"
FULLRES = ROOT.parent / "shared" / "data" / "fullres"
SAMPLES = ROOT / "resources" / "samples"
PYDICOM_FILES = Path(pydicom.__file__).parent / "data" / "test_files"
MAX_BUNDLE_BYTES = 250 * 1000 * 1000
BUILD_TIMEOUT_S = 25 * 60
RUN_TIMEOUT_S = 300
FORBIDDEN = (
    "torch",
    "torchvision",
    "triton",
    "scipy",
    "cv2",
    "matplotlib",
    "sklearn",
    "tensorflow",
    "safetensors",
    "pytorch_grad_cam",
    "onnxscript",
    "tkinter",
    "ray",
)

pytestmark = pytest.mark.slow


@functools.cache
def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"cxr_packaging_{name}", PACKAGING / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _shipped(folder: Path) -> tuple[str, ...]:
    """The files of a model folder the bundle ships (packaging/build.py)."""
    return _load("build").shipped_files(folder)


def _tail(result: subprocess.CompletedProcess, n: int = 3000) -> str:
    return f"exit {result.returncode}\nstdout: {result.stdout[-n:]}\nstderr: {result.stderr[-n:]}"


@pytest.fixture(scope="module")
def built() -> SimpleNamespace:
    """Run packaging/build.py and packaging/build_deb.py once for the module."""
    if importlib.util.find_spec("PyInstaller") is None:
        pytest.skip("PyInstaller is not installed (pip install -e '.[dev]')")
    if shutil.which("dpkg-deb") is None:
        pytest.skip("dpkg-deb is not available (Debian/Ubuntu only)")
    build = _load("build")
    model_dir = Path(os.environ.get("CXR_BUNDLE_MODEL_DIR") or build.MODELS)
    reason = build.missing_model_reason(model_dir)
    if reason:
        pytest.skip(f"cannot build the bundle: {reason}")
    env = {k: v for k, v in os.environ.items() if k != "CXR_MODEL_DIR"}
    for script, args in (("build.py", ["--model-dir", str(model_dir)]), ("build_deb.py", [])):
        result = subprocess.run(
            [sys.executable, str(PACKAGING / script), *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=BUILD_TIMEOUT_S,
        )
        if script == "build.py" and result.returncode == build.EXIT_NO_MODEL:
            pytest.skip(f"cannot build the bundle: {result.stderr.strip()}")
        assert result.returncode == 0, f"{script} failed: {_tail(result)}"
    version = _load("build_deb").project_version()
    return SimpleNamespace(
        model_dir=model_dir,
        folders=build.bundled_models(model_dir),
        version=version,
        deb=ROOT / "dist" / f"cxr-desktop_{version}_amd64.deb",
        tarball=ROOT / "dist" / f"cxr-desktop-{version}-linux-x86_64.tar.gz",
    )


@pytest.fixture(scope="module")
def installed(built, tmp_path_factory) -> Path:
    """The .deb unpacked with `dpkg-deb -x` into a temporary root; returns opt/cxr-desktop."""
    root = tmp_path_factory.mktemp("debroot")
    subprocess.run(["dpkg-deb", "-x", str(built.deb), str(root)], check=True, timeout=RUN_TIMEOUT_S)
    app = root / "opt" / "cxr-desktop"
    assert (app / "cxr").is_file() and (app / "cxr-desktop").is_file()
    return app


@pytest.fixture(scope="module")
def api_model(built):
    """The same models through the Python API (ONNX Runtime in this interpreter), routed
    per image as the bundle routes them."""
    from cxr_model.inference.router import load_models

    return load_models(built.model_dir)


def run_app(
    program: Path, *args: str, extra_env: dict | None = None
) -> subprocess.CompletedProcess:
    """Run a bundled program headless: offscreen Qt, no display, the bundle's own model."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in (
            "CXR_MODEL_DIR",
            "DISPLAY",
            "WAYLAND_DISPLAY",
            "PYTHONPATH",
            "PYTHONHOME",
            "LD_LIBRARY_PATH",
        )
    }
    env["QT_QPA_PLATFORM"] = "offscreen"
    env.update(extra_env or {})
    return subprocess.run(
        [str(program), *args], capture_output=True, text=True, env=env, timeout=RUN_TIMEOUT_S
    )


@pytest.mark.skipif(
    shutil.which("xvfb-run") is None,
    reason="xvfb-run not installed (.ci/run installs it where apt-get works)",
)
def test_desktop_window_paints_on_a_real_x_server(installed):
    """The xcb platform plugin and the system libraries the .deb depends on work on X11."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("CXR_MODEL_DIR", "DISPLAY", "QT_QPA_PLATFORM", "PYTHONPATH", "LD_LIBRARY_PATH")
    }
    env["CXR_DESKTOP_EXIT_AFTER_FIRST_PAINT"] = "1"
    env["QT_QPA_PLATFORM"] = "xcb"  # fail rather than fall back if xcb cannot load
    result = subprocess.run(
        ["xvfb-run", "-a", "-s", "-screen 0 1280x800x24", str(installed / "cxr-desktop")],
        capture_output=True,
        text=True,
        env=env,
        timeout=RUN_TIMEOUT_S,
    )
    assert result.returncode == 0, _tail(result)
    assert "first-paint" in result.stdout, _tail(result)


def _fullres() -> Path:
    images = sorted(FULLRES.glob("*.jpeg"))
    if not images:
        pytest.skip(f"real full-resolution X-rays not found at {FULLRES}")
    return images[0]


# ------------------------------------------------------------------------------ the bundle


def test_bundle_is_small_and_carries_no_training_stack(built):
    files = [p for p in BUNDLE.rglob("*") if p.is_file() and not p.is_symlink()]
    size = sum(p.stat().st_size for p in files)
    assert size <= MAX_BUNDLE_BYTES, f"bundle is {size / 1e6:.1f} MB (limit 250 MB)"
    for path in files:
        rel = path.relative_to(BUNDLE)
        parts = {part.split(".")[0].lower() for part in rel.parts}
        assert not parts & set(FORBIDDEN), f"{rel} should not be bundled"
        assert not path.name.startswith(("libtorch", "libc10", "libopencv", "libtk")), rel
        # unused Qt: QML/Quick, WebEngine, PDF, Wayland, translations
        assert not any(
            name in rel.as_posix()
            for name in ("Qt6Qml", "Qt6Quick", "WebEngine", "Qt6Pdf", "Qt6Wayland", "translations/")
        ), rel
    internal = BUNDLE / "_internal"
    assert not (internal / "onnx").exists()


def test_bundle_layout_model_samples_and_plugins(built):
    internal = BUNDLE / "_internal"
    for program in ("cxr-desktop", "cxr"):
        assert os.access(BUNDLE / program, os.X_OK), program
    # every model folder, under its own name, with its card and the files of the precision
    # `auto` runs, nothing else (the int8 model alone when its gates passed)
    for folder in built.folders:
        shipped = _shipped(folder)
        bundled = internal / "resources" / "models" / folder.name
        assert sorted(p.name for p in bundled.iterdir()) == sorted(shipped), folder.name
        for name in shipped:
            assert _sha256(bundled / name) == _sha256(folder / name), f"{folder.name}/{name}"
    samples = {p.name for p in (internal / "resources" / "samples").iterdir()}
    assert samples == {p.name for p in SAMPLES.iterdir() if p.is_file()}
    # pylibjpeg finds its plugins through entry points: the dist-info must be there
    assert list(internal.glob("pylibjpeg-*.dist-info/METADATA"))
    for dist in ("pylibjpeg_libjpeg", "pylibjpeg_openjpeg", "pylibjpeg_rle"):
        assert list(internal.glob(f"{dist}-*.dist-info/entry_points.txt")), dist
    plugins = internal / "PySide6" / "Qt" / "plugins"
    for plugin in ("platforms/libqxcb.so", "platforms/libqoffscreen.so"):
        assert (plugins / plugin).is_file(), plugin


def test_the_bundle_needs_only_libraries_the_deb_depends_on(built):
    """Every shared library a bundled binary links is in the bundle or in the .deb Depends."""
    if shutil.which("readelf") is None:
        pytest.skip("readelf (binutils) is not available")
    host = _load("build_deb").HOST_LIB_PACKAGES
    present = {p.name for p in BUNDLE.rglob("*")}
    missing = {}
    for path in BUNDLE.rglob("*"):
        if path.is_symlink() or not path.is_file():
            continue
        with open(path, "rb") as fh:
            if fh.read(4) != b"\x7fELF":
                continue
        out = subprocess.run(
            ["readelf", "-d", str(path)], capture_output=True, text=True, check=False
        ).stdout
        for line in out.splitlines():
            if "(NEEDED)" in line:
                lib = line.split("[", 1)[1].rstrip("]")
                if lib not in present and lib not in host:
                    missing.setdefault(lib, path.relative_to(BUNDLE).as_posix())
    assert not missing, f"linked but neither bundled nor in Depends: {missing}"


# ------------------------------------------------------------------------- the .deb, run


def test_desktop_selftest_from_the_deb(installed):
    result = run_app(installed / "cxr-desktop", "--selftest")
    assert result.returncode == 0, _tail(result)
    assert result.stdout.strip().startswith("selftest ok"), _tail(result)
    assert str(installed) in result.stdout  # the bundled model, not one from the source tree


def test_cli_selftest_from_the_deb(built, installed):
    result = run_app(installed / "cxr", "selftest")
    assert result.returncode == 0, _tail(result)
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("selftest ok"), _tail(result)
    for folder in built.folders:  # selftest runs every bundled model
        assert str(installed / "_internal" / "resources" / "models" / folder.name) in lines[0]


def test_desktop_window_paints_offscreen(installed):
    """The Qt part of the bundle works: the main window paints a frame, then the app exits."""
    result = run_app(
        installed / "cxr-desktop", extra_env={"CXR_DESKTOP_EXIT_AFTER_FIRST_PAINT": "1"}
    )
    assert result.returncode == 0, _tail(result)
    assert "first-paint" in result.stdout, _tail(result)


def _case(name: str, tmp_path: Path) -> Path:
    """Input file for a predict case, alone in a folder (no sibling .txt report)."""
    if name == "fullres-jpeg":
        src = _fullres()
    elif name == "fullres-as-dicom":
        return make_dicom(_fullres(), tmp_path / "fullres.dcm")
    elif name == "rle-sample":
        src = SAMPLES / "NORMAL2-IM-1438-0001.dcm"
    else:
        src = PYDICOM_FILES / name
        if not src.is_file():
            pytest.skip(f"pydicom test file {src} is not installed")
    dst = tmp_path / src.name
    shutil.copyfile(src, dst)
    return dst


@pytest.mark.parametrize(
    "name",
    ["fullres-jpeg", "fullres-as-dicom", "rle-sample", "JPEG2000.dcm", "SC_rgb_jpeg_dcmtk.dcm"],
)
def test_bundled_predict_equals_the_python_api(installed, api_model, name, tmp_path):
    image = _case(name, tmp_path)
    result = run_app(installed / "cxr", "predict", "--json", str(image))
    assert result.returncode == 0, _tail(result)
    row = json.loads(result.stdout)
    expected = api_model.predict(image)
    assert row["error"] is None
    assert row["probability"] == pytest.approx(expected.probability, abs=1e-4)
    assert row["image_probability"] == pytest.approx(expected.image_probability, abs=1e-4)
    assert row["text_probability"] is None and row["used_report"] is False
    assert row["label"] == expected.label


def test_bundled_precision_is_the_one_auto_runs(installed, built, tmp_path):
    """The bundle runs each model at the precision its folder ships; asking it for the other
    precision is a clear error (exit 3, naming the files and the way out), never a crash."""
    shipped = {name for folder in built.folders for name in _shipped(folder)}
    image = _case("fullres-jpeg", tmp_path)
    result = run_app(installed / "cxr", "models", "--json")
    assert result.returncode == 0, _tail(result)
    expected = "int8" if "model_int8.onnx" in shipped else "fp32"
    assert {m["precision"] for m in json.loads(result.stdout)} == {expected}, _tail(result)
    if "weights.safetensors" in shipped:
        pytest.skip("a bundled model ships fp32: both precisions are installed for it")
    result = run_app(installed / "cxr", "--precision", "fp32", "predict", "--json", str(image))
    assert result.returncode == 3, _tail(result)
    assert "fp32 files of this model are not installed here" in result.stderr, _tail(result)
    assert "Traceback" not in result.stderr


def test_bundled_cli_answers_the_broken_file_corpus(installed, tmp_path):
    images = sorted(FULLRES.glob("*.jpeg")) or sorted(SAMPLES.glob("*.jpeg"))
    folder = tmp_path / "corpus"
    expected = build_corpus(folder, images[0])
    failures = []
    for name, phrase in sorted(expected.items()):
        result = run_app(installed / "cxr", "predict", "--json", str(folder / name))
        if phrase is None:
            ok = result.returncode == 0 and json.loads(result.stdout)["error"] is None
        else:
            ok = result.returncode == 2 and phrase in result.stderr
        if not ok:
            failures.append(f"{name} (want {phrase or 'success'}): {_tail(result, 400)}")
    assert not failures, "\n".join(failures)


# -------------------------------------------------------------------- the .deb, contents


def test_deb_contents_and_control(built):
    models = "./opt/cxr-desktop/_internal/resources/models"
    listing = subprocess.run(
        ["dpkg-deb", "-c", str(built.deb)],
        capture_output=True,
        text=True,
        check=True,
        timeout=RUN_TIMEOUT_S,
    ).stdout
    entries = {}
    for line in listing.splitlines():
        fields = line.split(None, 5)
        entries[fields[5].split(" -> ")[0]] = fields
    for path in (
        "./usr/bin/cxr-desktop",
        "./usr/bin/cxr",
        "./opt/cxr-desktop/cxr-desktop",
        "./opt/cxr-desktop/cxr",
        *(f"{models}/{f.name}/{name}" for f in built.folders for name in _shipped(f)),
        "./usr/share/applications/cxr-desktop.desktop",
        "./usr/share/icons/hicolor/256x256/apps/cxr-desktop.png",
        "./usr/share/icons/hicolor/48x48/apps/cxr-desktop.png",
    ):
        assert path in entries, f"{path} missing from the .deb"
    for path in ("./usr/bin/cxr-desktop", "./usr/bin/cxr", "./opt/cxr-desktop/cxr-desktop"):
        assert entries[path][0] == "-rwxr-xr-x", (path, entries[path][0])
    # the CLI: its own executable, or (Linux) the app's under the name cxr
    cli = entries["./opt/cxr-desktop/cxr"]
    assert cli[0] == "-rwxr-xr-x" or (
        cli[0].startswith("l") and cli[5].endswith("-> cxr-desktop")
    ), cli
    assert all(fields[1] == "root/root" for fields in entries.values())
    for folder in built.folders:  # exactly the shipped model files, readable by all
        bundled = {p for p in entries if p.startswith(f"{models}/{folder.name}/") and p[-1] != "/"}
        assert bundled == {f"{models}/{folder.name}/{name}" for name in _shipped(folder)}
        assert all(entries[path][0] == "-rw-r--r--" for path in bundled), folder.name

    def field(name: str) -> str:
        return subprocess.run(
            ["dpkg-deb", "-f", str(built.deb), name], capture_output=True, text=True, check=True
        ).stdout.strip()

    assert field("Package") == "cxr-desktop"
    assert field("Version") == built.version
    assert field("Architecture") == "amd64"
    assert int(field("Installed-Size")) > 100_000
    depends = field("Depends")
    for package in (
        "libxcb-cursor0",
        "libxkbcommon-x11-0",
        "libegl1",
        "libgl1",
        "libfontconfig1",
        "libdbus-1-3",
        "libxcb-icccm4",
        "libc6",
    ):
        assert package in depends, package


def test_deb_launchers_and_desktop_entry(installed):
    root = installed.parent.parent
    for program in ("cxr-desktop", "cxr"):
        launcher = (root / "usr" / "bin" / program).read_text()
        assert launcher.startswith("#!/bin/sh")
        assert f"/opt/cxr-desktop/{program}" in launcher
    desktop = (root / "usr" / "share" / "applications" / "cxr-desktop.desktop").read_text()
    for line in ("Type=Application", "Exec=cxr-desktop %f", "Icon=cxr-desktop", "Terminal=false"):
        assert line in desktop.splitlines(), line


def test_desktop_file_validates(installed):
    validator = shutil.which("desktop-file-validate")
    if validator is None:
        pytest.skip("desktop-file-validate is not installed (apt install desktop-file-utils)")
    desktop = installed.parent.parent / "usr" / "share" / "applications" / "cxr-desktop.desktop"
    result = subprocess.run([validator, str(desktop)], capture_output=True, text=True)
    assert result.returncode == 0 and "error" not in result.stdout.lower(), _tail(result)


def test_portable_tarball(built):
    top = f"cxr-desktop-{built.version}"
    with tarfile.open(built.tarball) as tar:
        members = {m.name: m for m in tar.getmembers()}
    for name in (
        "cxr-desktop",
        "cxr",
        *(f"_internal/resources/models/{f.name}/{n}" for f in built.folders for n in _shipped(f)),
        "share/applications/cxr-desktop.desktop",
        "share/icons/hicolor/256x256/apps/cxr-desktop.png",
    ):
        assert f"{top}/{name}" in members, name
    cli = members[f"{top}/cxr"]
    assert cli.mode == 0o755 or (cli.issym() and cli.linkname == "cxr-desktop")
    assert all(m.uid == 0 and m.gid == 0 for m in members.values())


# ----------------------------------------------------------------- PACS, from the bundle


def test_bundled_pacs_send_echo_find_get(installed, orthanc, tmp_path):
    """pynetdicom, dicomweb-client and requests work frozen, against a real Orthanc."""
    from helpers_orthanc import free_port, write_study, xray_pixels

    [source] = write_study(tmp_path / "in", xray_pixels(_fullres()), "CXRT-BUNDLE")
    expected = pydicom.dcmread(source)
    cxr = installed / "cxr"
    result = run_app(cxr, "pacs", "send", orthanc.dimse, str(source))
    assert result.returncode == 0, _tail(result)
    for kind, node in (("dimse", orthanc.dimse), ("web", orthanc.web)):
        result = run_app(cxr, "pacs", "echo", node)
        assert result.returncode == 0, _tail(result)
        result = run_app(cxr, "pacs", "find", node, "--patient-id", "CXRT-BUNDLE", "--json")
        assert result.returncode == 0, _tail(result)
        [study] = [json.loads(line) for line in result.stdout.splitlines()]
        assert study["study_uid"] == expected.StudyInstanceUID and study["instances"] == 1
        result = run_app(
            cxr, "pacs", "get", node, expected.StudyInstanceUID, "--out", str(tmp_path / kind)
        )
        assert result.returncode == 0, _tail(result)
        [written] = result.stdout.split()
        assert pydicom.dcmread(written).SOPInstanceUID == expected.SOPInstanceUID
    result = run_app(cxr, "pacs", "echo", f"X@127.0.0.1:{free_port()}", "--timeout", "2")
    assert result.returncode == 4 and "cannot connect" in result.stderr, _tail(result)
    # https needs ssl in the bundle: Orthanc speaks plain HTTP, so the TLS handshake fails
    result = run_app(cxr, "pacs", "echo", f"https://127.0.0.1:{orthanc.http_port}/dicom-web")
    assert result.returncode == 4 and "TLS failed" in result.stderr, _tail(result)


def test_bundled_results_are_valid_dicom(installed, tmp_path):
    """highdicom works frozen (it reads the standard's tables from its data files)."""
    from helpers_orthanc import dciodvfy_errors, write_study, xray_pixels

    [source] = write_study(tmp_path / "in", xray_pixels(_fullres()), "CXRT-BUNDLE-SR")
    result = run_app(installed / "cxr", "results", str(source), "--out", str(tmp_path / "out"))
    assert result.returncode == 0, _tail(result)
    written = result.stdout.split()
    assert sorted(pydicom.dcmread(p).Modality for p in written) == ["OT", "SR"]
    if shutil.which("dciodvfy"):
        assert all(dciodvfy_errors(Path(p)) == [] for p in written)
