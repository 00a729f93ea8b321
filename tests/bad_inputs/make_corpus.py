"""Write the binary and specially encoded files of the bad-input corpus.

The plain CSV cases in this folder are written by hand; this script makes the ones a text editor
cannot (UTF-16, mixed encodings, XLSX, damaged XLSX, GeoParquet). Run it once after changing it
and commit what it writes (every output is a few KB):

    .venv/bin/python tests/bad_inputs/make_corpus.py

The 20 MB junk case is *not* committed: ``tests/test_bad_inputs.py`` calls ``write_junk`` at
test time, into a temporary folder. ``cases.yaml`` says what each file must be refused with.
"""
from __future__ import annotations

import datetime as dt
import io
import random
import re
import sys
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
JUNK_BYTES = 20 * 2**20
JUNK_SEED = 20240229

NRM_HEADER = ["record_id", "referral_date", "exploitation_type", "age_group", "gender",
              "first_responder", "longitude", "latitude"]


def write_junk(path: Path, size: int = JUNK_BYTES, seed: int = JUNK_SEED) -> Path:
    """A file of ``size`` random-looking bytes, the same every time: an encrypted or corrupt
    export sent under a .csv name."""
    Path(path).write_bytes(random.Random(seed).randbytes(size))
    return Path(path)


def utf16_export(path: Path) -> None:
    """Excel's 'Unicode Text' export: UTF-16 LE with a BOM, tab-separated, CRLF."""
    rows = [NRM_HEADER,
            ["WY-NRM-24-0401", "04/03/2024", "labour", "adult", "male", "police", "-1.5491",
             "53.8008"],
            ["WY-NRM-24-0402", "05/03/2024", "criminal", "child", "male", "local_authority",
             "-1.7594", "53.7960"]]
    text = "".join("\t".join(r) + "\r\n" for r in rows)
    path.write_bytes(text.encode("utf-16"))  # BOM + little-endian on every platform we use


def mixed_encodings(path: Path) -> None:
    """Two exports pasted together: Word-style curly quotes as UTF-8 in one row and as
    Windows-1252 bytes in a later one (a category typed with autocorrect on)."""
    lines = [",".join(NRM_HEADER),
             "WY-NRM-24-0411,2024-03-04,labour,adult,male,police,-1.5491,53.8008",
             "WY-NRM-24-0412,2024-03-05,\u201ccriminal\u201d,child,male,local_authority,"
             "-1.7594,53.7960"]
    later = "WY-NRM-24-0413,2024-03-07,\u201csexual\u201d,adult,female,ngo,-1.4977,53.6833"
    body = ("\r\n".join(lines) + "\r\n").encode("utf-8") + (later + "\r\n").encode("cp1252")
    path.write_bytes(body)


def _workbook(rows, hidden_columns=()):
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Referrals"
    for row in rows:
        sheet.append(row)
    for letter in hidden_columns:
        sheet.column_dimensions[letter].hidden = True
    book.properties.creator = "partner"
    buffer = io.BytesIO()
    book.save(buffer)
    return _repack(buffer.getvalue())


def _repack(xlsx: bytes) -> bytes:
    """The same workbook with fixed timestamps, so the script writes identical bytes every run."""
    stamp = "2024-04-02T09:00:00Z"
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(xlsx)) as source, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*",
                              rb"\g<1>" + stamp.encode(), data)
            target.writestr(zipfile.ZipInfo(item.filename, date_time=(2024, 4, 2, 9, 0, 0)), data,
                            compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def xlsx_renamed_to_csv(path: Path) -> None:
    """A real workbook saved with a .csv name, whose date column was formatted 'General', so the
    dates are Excel serial numbers (45359 = 08/03/2024)."""
    rows = [NRM_HEADER,
            ["WY-NRM-24-0421", dt.datetime(2024, 3, 4), "labour", "adult", "male", "police",
             -1.5491, 53.8008],
            ["WY-NRM-24-0422", 45359, "criminal", "child", "male", "local_authority", -1.7594,
             53.7960]]
    path.write_bytes(_workbook(rows))


def damaged_xlsx(path: Path) -> None:
    """A workbook cut short (an interrupted download or e-mail attachment limit)."""
    rows = [NRM_HEADER] + [[f"WY-NRM-24-{430 + i:04d}", dt.datetime(2024, 3, 4 + i), "labour",
                            "adult", "male", "police", -1.5491, 53.8008] for i in range(5)]
    data = _workbook(rows)
    path.write_bytes(data[: len(data) // 2])


def hidden_dob_column(path: Path) -> None:
    """The partner *hid* the date-of-birth column in Excel, believing that removes it."""
    header = NRM_HEADER[:6] + ["DOB"] + NRM_HEADER[6:]
    rows = [header,
            ["WY-NRM-24-0441", dt.datetime(2024, 3, 4), "labour", "adult", "male", "police",
             dt.datetime(1994, 5, 12), -1.5491, 53.8008],
            ["WY-NRM-24-0442", dt.datetime(2024, 3, 5), "criminal", "child", "male",
             "local_authority", dt.datetime(2008, 11, 3), -1.7594, 53.7960]]
    path.write_bytes(_workbook(rows, hidden_columns=("G",)))


def password_protected_xlsx(path: Path) -> None:
    """A password-protected workbook: Excel stores it as an OLE2 compound file, not a zip.

    Only the container's header is realistic (magic, byte order, sector sizes); the rest is
    padding, which is all a reader sees before it must refuse the file.
    """
    header = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 16 + b"\x3e\x00\x03\x00\xfe\xff"
              + b"\x09\x00\x06\x00" + b"\x00" * 10)
    path.write_bytes(header + bytes(4096 - len(header)))


def _nrm_frame():
    import pandas as pd

    return pd.DataFrame({
        "record_id": ["WY-NRM-24-0451", "WY-NRM-24-0452"],
        "referral_date": pd.to_datetime(["2024-03-04", "2024-03-05"]),
        "exploitation_type": ["labour", "criminal"],
        "age_group": ["adult", "child"],
        "gender": ["male", "male"],
        "first_responder": ["police", "local_authority"],
    })


def geoparquet_polygons(path: Path) -> None:
    """Each record exported with its LSOA *polygon* instead of a point."""
    import geopandas as gpd
    from shapely.geometry import Point, box

    frame = _nrm_frame()
    geometry = [Point(-1.5491, 53.8008), box(-1.770, 53.790, -1.750, 53.800)]
    gpd.GeoDataFrame(frame, geometry=geometry, crs="EPSG:4326").to_parquet(path)


def geoparquet_without_crs(path: Path) -> None:
    """Points in BNG metres written without a CRS: the reader cannot know the units."""
    import geopandas as gpd

    frame = _nrm_frame()
    geometry = gpd.points_from_xy([429900, 416500], [433600, 432900])
    gpd.GeoDataFrame(frame, geometry=geometry, crs=None).to_parquet(path)


def geoparquet_with_nationality(path: Path) -> None:
    """A well-formed GeoParquet that also carries a forbidden column."""
    import geopandas as gpd

    frame = _nrm_frame()
    frame["nationality"] = ["Albanian", "Vietnamese"]
    geometry = gpd.points_from_xy([-1.5491, -1.7594], [53.8008, 53.7960])
    gpd.GeoDataFrame(frame, geometry=geometry, crs="EPSG:4326").to_parquet(path)


OUTPUTS = {
    "utf16_export.csv": utf16_export,
    "mixed_encodings.csv": mixed_encodings,
    "xlsx_renamed_to_csv.csv": xlsx_renamed_to_csv,
    "damaged_truncated.xlsx": damaged_xlsx,
    "hidden_dob_column.xlsx": hidden_dob_column,
    "password_protected.xlsx": password_protected_xlsx,
    "geoparquet_polygons.parquet": geoparquet_polygons,
    "geoparquet_without_crs.parquet": geoparquet_without_crs,
    "geoparquet_with_nationality.parquet": geoparquet_with_nationality,
}


def main(folder: Path = HERE) -> None:
    for name, make in OUTPUTS.items():
        make(folder / name)
        print(f"wrote {name} ({(folder / name).stat().st_size:,} bytes)")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
