"""Copy the front-end files the maps need into ``static/vendor/`` and write its manifest.

Run by ``make assets`` after ``npm ci --ignore-scripts --no-audit --no-fund`` (which installs the
exact versions pinned in ``package.json``/``package-lock.json`` into ``node_modules/``)::

    python tools/vendor_assets.py [--node-modules DIR] [--out DIR]

Every file in ``SPEC`` is copied from its package to ``<out>/<package>@<version>/<path>``, keeping
the package's own layout so that the relative URLs inside the CSS (``images/layers.png``,
``../webfonts/fa-solid-900.woff2``) still resolve. One file comes from PyPI instead of npm: the
patched ``leaflet_heat.min.js`` that folium ships in its package and that ``folium.plugins.HeatMap``
loads from GitHub by default.

``<out>/manifest.json`` lists each package (name, version, source, licence, files) and maps every
CDN URL that folium would load to its vendored file, or records why it is left out.
``maps.local_assets`` reads that mapping at run time: this file is its single source.

The script is idempotent: a file whose bytes are already in place is not rewritten, files and
folders that are no longer in the spec are removed, and the manifest is rewritten only when it
changes. It needs only the standard library and takes well under a second. It never fetches
anything.
"""
from __future__ import annotations

import argparse
import filecmp
import importlib.util
import json
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MANIFEST_NAME = "manifest.json"
MANIFEST_FORMAT = 1


@dataclass(frozen=True)
class Package:
    """One vendored package.

    Attributes
    ----------
    name : str
        npm package name (or ``folium`` for the file taken from the installed PyPI package).
    source : {"npm", "pypi"}
    files : tuple of str
        Paths inside the package to copy, kept as they are (so relative CSS URLs still work).
    replaces : dict
        Path inside the package -> the folium CDN URLs it stands in for.
    """

    name: str
    source: str
    files: tuple[str, ...]
    replaces: dict[str, tuple[str, ...]]


# folium 0.20.0's CDN URLs (folium.Map.default_js/default_css and the plugins we use), each
# mapped to a file below. Upgrading folium changes some of them: tests/test_maps.py fails until
# this spec maps (or drops) every URL that folium then asks for.
SPEC: tuple[Package, ...] = (
    Package(
        "leaflet", "npm",
        files=("LICENSE", "dist/leaflet.js", "dist/leaflet.js.map", "dist/leaflet.css",
               "dist/images/layers.png", "dist/images/layers-2x.png",
               "dist/images/marker-icon.png", "dist/images/marker-icon-2x.png",
               "dist/images/marker-shadow.png"),
        replaces={
            "dist/leaflet.js": ("https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js",),
            "dist/leaflet.css": ("https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.css",),
        },
    ),
    # folium.Popup sets its content with $(...), and Map uses $(document).ready.
    Package(
        "jquery", "npm",
        files=("LICENSE.txt", "dist/jquery.min.js"),
        replaces={"dist/jquery.min.js": ("https://code.jquery.com/jquery-3.7.1.min.js",)},
    ),
    # folium.Icon and FastMarkerCluster's default marker use L.AwesomeMarkers. This is the
    # original 2.0.2 release (the one folium loads from cdnjs), repackaged on npm.
    Package(
        "drmonty-leaflet-awesome-markers", "npm",
        files=("README.md", "js/leaflet.awesome-markers.min.js", "css/leaflet.awesome-markers.css",
               "css/images/markers-matte.png", "css/images/markers-matte@2x.png",
               "css/images/markers-plain.png", "css/images/markers-shadow.png",
               "css/images/markers-shadow@2x.png", "css/images/markers-soft.png",
               "css/images/markers-soft@2x.png"),
        replaces={
            "js/leaflet.awesome-markers.min.js": (
                "https://cdnjs.cloudflare.com/ajax/libs/Leaflet.awesome-markers/2.0.2/"
                "leaflet.awesome-markers.js",),
            "css/leaflet.awesome-markers.css": (
                "https://cdnjs.cloudflare.com/ajax/libs/Leaflet.awesome-markers/2.0.2/"
                "leaflet.awesome-markers.css",),
        },
    ),
    # Icons for folium.Icon(prefix="fa"); the CSS loads its fonts from ../webfonts/.
    Package(
        "@fortawesome/fontawesome-free", "npm",
        files=("LICENSE.txt", "css/all.min.css",
               "webfonts/fa-brands-400.ttf", "webfonts/fa-brands-400.woff2",
               "webfonts/fa-regular-400.ttf", "webfonts/fa-regular-400.woff2",
               "webfonts/fa-solid-900.ttf", "webfonts/fa-solid-900.woff2",
               "webfonts/fa-v4compatibility.ttf", "webfonts/fa-v4compatibility.woff2"),
        replaces={"css/all.min.css": (
            "https://cdn.jsdelivr.net/npm/@fortawesome/fontawesome-free@6.2.0/css/all.min.css",)},
    ),
    # folium.plugins.MarkerCluster and FastMarkerCluster (folium points at 1.1.0 from 2017;
    # 1.5.3 is the current release, made for Leaflet 1.x, same API).
    Package(
        "leaflet.markercluster", "npm",
        files=("MIT-LICENCE.txt", "dist/leaflet.markercluster.js",
               "dist/leaflet.markercluster.js.map", "dist/MarkerCluster.css",
               "dist/MarkerCluster.Default.css"),
        replaces={
            "dist/leaflet.markercluster.js": (
                "https://cdnjs.cloudflare.com/ajax/libs/leaflet.markercluster/1.1.0/"
                "leaflet.markercluster.js",),
            "dist/MarkerCluster.css": (
                "https://cdnjs.cloudflare.com/ajax/libs/leaflet.markercluster/1.1.0/"
                "MarkerCluster.css",),
            "dist/MarkerCluster.Default.css": (
                "https://cdnjs.cloudflare.com/ajax/libs/leaflet.markercluster/1.1.0/"
                "MarkerCluster.Default.css",),
        },
    ),
    # The street layer from an offline PMTiles archive (maps.tile_archive): reads the tiles
    # with HTTP range requests; its IIFE build defines the global `pmtiles` (fflate, its one
    # dependency, is bundled in). No folium URL to replace: maps.tile_archive links it.
    Package(
        "pmtiles", "npm",
        files=("README.md", "dist/pmtiles.js", "dist/pmtiles.js.map"),
        replaces={},
    ),
    # folium.plugins.HeatMap: Leaflet.heat 0.2.0 with folium's weights patch (Leaflet.heat PR
    # #78). npm's leaflet.heat lacks the patch; folium's PyPI package ships the file itself.
    Package(
        "folium", "pypi",
        files=("templates/leaflet_heat.min.js",),
        replaces={"templates/leaflet_heat.min.js": (
            "https://cdn.jsdelivr.net/gh/python-visualization/folium@main/folium/templates/"
            "leaflet_heat.min.js",)},
    ),
)

# What folium.Map loads by default but no element we draw needs. maps.local_assets leaves these out
# of the page; the reasons are written to the manifest (and docs/offline-maps.md).
DROPPED: dict[str, str] = {
    "https://cdn.jsdelivr.net/npm/bootstrap@5.2.2/dist/js/bootstrap.bundle.min.js":
        "no folium element uses Bootstrap's JavaScript",
    "https://cdn.jsdelivr.net/npm/bootstrap@5.2.2/dist/css/bootstrap.min.css":
        "no folium element needs Bootstrap 5 styles; they would only restyle the map's frame",
    "https://netdna.bootstrapcdn.com/bootstrap/3.0.0/css/bootstrap-glyphicons.css":
        "Bootstrap 3 glyphicons (the default folium.Icon prefix) are not vendored: "
        "use folium.Icon(prefix='fa', icon=...) with Font Awesome",
    "https://cdn.jsdelivr.net/gh/python-visualization/folium/folium/templates/"
    "leaflet.awesome.rotate.min.css":
        "folium.Icon(angle=...) rotation CSS is in no package; Font Awesome 6 itself rotates "
        "by 90, 180 and 270 degrees",
}


class VendorError(RuntimeError):
    """A package or file the spec names is not installed, or has another version than pinned."""


def pinned_versions(package_json: Path) -> dict[str, str]:
    """Return the exact versions pinned in ``package.json`` (``dependencies``)."""
    return json.loads(package_json.read_text(encoding="utf-8")).get("dependencies", {})


def _package_root(package: Package, node_modules: Path) -> tuple[Path, str, str]:
    """Where ``package`` is installed, its version and its licence."""
    if package.source == "pypi":
        spec = importlib.util.find_spec(package.name)
        if spec is None or not spec.submodule_search_locations:
            raise VendorError(f"the Python package {package.name!r} is not installed: "
                              "run `make` (pip install -r requirements.txt) first")
        from importlib.metadata import metadata, version
        return (Path(list(spec.submodule_search_locations)[0]), version(package.name),
                metadata(package.name).get("License") or "MIT")
    root = node_modules / package.name
    meta_path = root / "package.json"
    if not meta_path.is_file():
        raise VendorError(f"{meta_path} not found: run `npm ci --ignore-scripts --no-audit "
                          "--no-fund` first (or `make assets`)")
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    licence = meta.get("license") or ", ".join(
        entry.get("type", "") for entry in meta.get("licenses", []) if isinstance(entry, dict))
    return root, meta["version"], licence


def _copy_if_changed(source: Path, target: Path) -> bool:
    """Copy ``source`` to ``target`` unless the bytes are already there; True if it copied."""
    if target.is_file() and filecmp.cmp(source, target, shallow=False):
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    shutil.copyfile(source, tmp)
    tmp.replace(target)
    return True


def build_manifest(node_modules: Path, package_json: Path | None = None) -> tuple[dict, list]:
    """Resolve the spec against what is installed.

    Returns
    -------
    manifest : dict
        What ``manifest.json`` will hold.
    copies : list of (Path, str)
        Source file and its path relative to the output folder.

    Raises
    ------
    VendorError
        A package or file is missing, or an npm package's installed version is not the one
        pinned in ``package.json``.
    """
    pins = pinned_versions(package_json) if package_json and package_json.is_file() else {}
    packages, urls, copies = [], {}, []
    for package in SPEC:
        root, version, licence = _package_root(package, node_modules)
        if package.source == "npm" and pins.get(package.name, version) != version:
            raise VendorError(f"{package.name} {version} is installed but package.json pins "
                              f"{pins[package.name]}: run `npm ci --ignore-scripts` again")
        folder = f"{package.name}@{version}"
        for rel in package.files:
            source = root / rel
            if not source.is_file():
                raise VendorError(f"{source} is not in {package.name} {version}")
            copies.append((source, f"{folder}/{rel}"))
        for rel, replaced in package.replaces.items():
            for url in replaced:
                urls[url] = f"{folder}/{rel}"
        packages.append({"name": package.name, "version": version, "source": package.source,
                         "license": licence, "dir": folder, "files": list(package.files)})
    manifest = {"format": MANIFEST_FORMAT,
                "generated_by": "tools/vendor_assets.py (make assets); do not edit",
                "packages": packages, "urls": urls, "dropped": DROPPED}
    return manifest, copies


def vendor(node_modules: Path, out: Path, package_json: Path | None = None) -> dict[str, int]:
    """Bring ``out`` in line with the spec; return counts of files copied, kept and removed."""
    manifest, copies = build_manifest(node_modules, package_json)
    if out.is_dir() and any(out.iterdir()) and not (out / MANIFEST_NAME).is_file():
        # Everything in ``out`` that the spec does not name is deleted: never do that to a
        # folder this script did not make.
        raise VendorError(f"{out} is not empty and has no {MANIFEST_NAME}: not a vendor folder")
    out.mkdir(parents=True, exist_ok=True)
    wanted = {out / rel for _, rel in copies} | {out / MANIFEST_NAME}
    copied = sum(_copy_if_changed(source, out / rel) for source, rel in copies)
    removed = 0
    for path in sorted(out.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        if path.is_dir():
            if not any(path.iterdir()):
                path.rmdir()
        elif path not in wanted:
            path.unlink()
            removed += 1
    text = json.dumps(manifest, indent=2, sort_keys=False) + "\n"
    manifest_path = out / MANIFEST_NAME
    if not manifest_path.is_file() or manifest_path.read_text(encoding="utf-8") != text:
        tmp = manifest_path.with_name(MANIFEST_NAME + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(manifest_path)
        copied += 1
    return {"copied": copied, "kept": len(wanted) - copied, "removed": removed}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--node-modules", type=Path, default=ROOT / "node_modules")
    parser.add_argument("--out", type=Path, default=ROOT / "static" / "vendor")
    parser.add_argument("--package-json", type=Path, default=ROOT / "package.json")
    args = parser.parse_args(argv)
    try:
        counts = vendor(args.node_modules, args.out, args.package_json)
    except VendorError as error:
        print(f"vendor_assets: {error}", file=sys.stderr)
        return 1
    print(f"vendor_assets: {args.out}: {counts['copied']} written, {counts['kept']} unchanged, "
          f"{counts['removed']} removed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
