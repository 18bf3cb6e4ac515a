"""Attack: malformed and oversize uploads, and SQL / filter metacharacters in every search parameter."""

from __future__ import annotations

import io
import struct
import time
import zipfile
import zlib

import pytest

from careers.coders.tables import CoderProfile
from careers.worker import Worker
from employers.tables import Employer
from search.service import parse_query, search_listings
from tests.attack.conftest import PDF
from tests.conftest import stored_count
from tests.reliability.conftest import make_coders, make_employer, make_published, signed_in_browsers
from tests.search_helpers import fresh_index

# ---- uploads ---------------------------------------------------------------------------------------------


async def stored_files(settings) -> int:
    return await stored_count(settings)


def docx_bomb() -> bytes:
    """A DOCX-shaped zip whose document expands to 200 MB (about 200 KB on the wire)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("word/document.xml", "w", force_zip64=True) as member:
            block = b"\0" * (1 << 20)
            for _ in range(200):
                member.write(block)
    return buffer.getvalue()


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def png_pixel_bomb(side: int = 60_000) -> bytes:
    """A few hundred bytes claiming side x side pixels: decoding it would need gigabytes."""
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", zlib.compress(b"\0" * 1024))
            + png_chunk(b"IEND", b""))


HOSTILE_RESUMES = {
    "html renamed pdf": ("resume.pdf", b"<html><script>alert(1)</script></html>", "application/pdf", 400),
    "executable renamed pdf": ("resume.pdf", b"MZ\x90\x00" + b"\0" * 2000, "application/pdf", 400),
    "empty file": ("resume.pdf", b"", "application/pdf", 400),
    "broken zip named docx": ("resume.docx", b"PK\x03\x04" + b"\xff" * 500, "application/octet-stream", 400),
    "zip without a word document": ("resume.docx", None, "application/octet-stream", 400),
    "over 5 MB": ("resume.pdf", b"%PDF-1.4\n" + b"0" * (6 * 1024 * 1024), "application/pdf", 400),
}


async def test_hostile_resume_uploads_are_refused_clearly_and_store_nothing(make_browser, settings):
    [coder_id] = await make_coders(1, "uploader")
    [browser] = await signed_in_browsers(make_browser, [coder_id], settings)
    plain_zip = io.BytesIO()
    with zipfile.ZipFile(plain_zip, "w") as archive:
        archive.writestr("notes.txt", "hello")
    before = await stored_files(settings)
    for name, (filename, data, content_type, status) in HOSTILE_RESUMES.items():
        data = plain_zip.getvalue() if data is None else data
        started = time.monotonic()
        response = await browser.submit("/account/profile/resume", files={"resume": (filename, data, content_type)})
        assert response.status_code == status, f"{name}: {response.status_code}"
        assert 'class="error' in response.text or "error" in response.text.lower(), f"{name}: no message shown"
        assert time.monotonic() - started < 10, f"{name} took too long"
    assert await stored_files(settings) == before
    assert (await CoderProfile.objects().get(CoderProfile.user == coder_id)).resume_key is None


async def test_a_body_over_the_request_limit_is_refused_before_it_is_read_whole(make_browser, settings):
    [coder_id] = await make_coders(1, "bigbody")
    [browser] = await signed_in_browsers(make_browser, [coder_id], settings)
    huge = b"%PDF-1.4\n" + b"0" * (12 * 1024 * 1024)
    response = await browser.submit("/account/profile/resume", files={"resume": ("big.pdf", huge, "application/pdf")})
    # refused (413) and answered with a way back to the form that sent it, the limit flashed (issue 16)
    assert response.status_code == 303 and response.headers["location"] == "/account/profile#resume"
    assert "resumes can be at most 5 MB" in (await browser.get("/account/profile")).text
    response = await browser.post("/login", content=b"a=" + b"b" * (12 * 1024 * 1024),
                                  headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code in (403, 413)  # the CSRF check may answer before the body is read


async def test_a_zip_bomb_shaped_docx_is_judged_without_being_inflated(make_browser, settings):
    [coder_id] = await make_coders(1, "bomber")
    [browser] = await signed_in_browsers(make_browser, [coder_id], settings)
    bomb = docx_bomb()
    assert len(bomb) < 2 * 1024 * 1024
    started = time.monotonic()
    response = await browser.submit("/account/profile/resume", files={"resume": ("cv.docx", bomb, "application/zip")})
    assert time.monotonic() - started < 10
    assert response.status_code in (303, 400)
    if response.status_code == 303:  # accepted as a DOCX: it is only ever handed back as a download
        download = await browser.get("/account/resume")
        assert download.status_code == 200
        assert download.headers["content-disposition"].startswith("attachment")
        assert download.headers["x-content-type-options"] == "nosniff"


async def test_malformed_multipart_and_path_tricks_in_file_names_are_harmless(make_browser, settings):
    [coder_id] = await make_coders(1, "tricky")
    [browser] = await signed_in_browsers(make_browser, [coder_id], settings)
    garbage = await browser.post("/account/profile/resume", content=b"--x\r\nnot a part\r\n--y--",
                                 headers={"Content-Type": "multipart/form-data; boundary=x",
                                          "X-CSRFToken": browser.csrf})
    assert garbage.status_code in (400, 403)
    truncated = await browser.submit("/account/profile/resume",
                                     files={"resume": ("../../../../etc/passwd.pdf", b"%PDF-1.4\n", "application/pdf")})
    assert truncated.status_code in (303, 400)
    if truncated.status_code == 303:
        download = await browser.get("/account/resume")
        disposition = download.headers["content-disposition"]
        assert disposition.startswith("attachment") and "/" not in disposition and ".." not in disposition
        assert download.headers["content-type"].startswith("application/pdf")
        assert download.headers["x-content-type-options"] == "nosniff"
    root = settings.uploads_dir.resolve()
    assert all(p.resolve().is_relative_to(root) for p in root.rglob("*"))


HOSTILE_LOGOS = {
    "truncated png": ("logo.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "image/png"),
    "pixel bomb": ("logo.png", png_pixel_bomb(), "image/png"),
    "svg with script": ("logo.png", b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>",
                        "image/png"),
    "gif": ("logo.gif", b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,"
                        b"\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;", "image/gif"),
    "over 2 MB": ("logo.png", b"\x89PNG\r\n\x1a\n" + b"\0" * (3 * 1024 * 1024), "image/png"),
    "pdf named png": ("logo.png", PDF, "image/png"),
}


async def test_hostile_logos_are_refused_with_a_field_error_and_store_nothing(make_browser, settings):
    employer_id, user_id = await make_employer("Logo Health")
    [browser] = await signed_in_browsers(make_browser, [user_id], settings)
    before = await stored_files(settings)
    form = {"name": "Logo Health", "website": "https://logo-health.example", "about": "", "hq_zip": ""}
    for name, upload in HOSTILE_LOGOS.items():
        started = time.monotonic()
        response = await browser.submit("/employer/organisation", form, files={"logo": upload})
        assert response.status_code == 400, f"{name}: {response.status_code}"
        assert "logo" in response.text.lower()
        assert time.monotonic() - started < 10, f"{name} took too long"
    assert await stored_files(settings) == before
    assert (await Employer.objects().get(Employer.id == employer_id)).logo_path is None


# ---- SQL and filter metacharacters in every search parameter --------------------------------------------

METACHARACTERS = ["'", '"', ";", "--", "%", "_", "\\", "' OR '1'='1", "CPC'; DROP TABLE listings; --",
                  "%' OR 1=1 --", "\\' OR 1=1 #", "a\" OR state = \"TX", "1) OR (1=1", "_%_%_", "\u0000", "CPC OR CCS",
                  "credentials_required = CPC OR 1 = 1"]


@pytest.fixture
async def searchable(settings):
    await fresh_index(settings)
    employer_id, _ = await make_employer("Meta Health")
    listing = await make_published(employer_id, "Metacharacter proof coder")
    await Worker(settings).drain()
    return listing


async def _parameter_names(browser) -> list[str]:
    schema = (await browser.get("/schema/openapi.json")).json()
    return [p["name"] for p in schema["paths"]["/api/v1/listings"]["get"]["parameters"]]


async def test_metacharacters_in_every_api_search_parameter_never_break_or_degrade_search(browser, searchable):
    names = await _parameter_names(browser)
    assert {"q", "credential", "state", "zip", "sort"} <= set(names)
    problems = []
    for name in names:
        for value in METACHARACTERS:
            response = await browser.get("/api/v1/listings", params={name: value})
            if response.status_code == 200:
                if response.json()["degraded"]:
                    problems.append(f"{name}={value!r}: search fell back to the database")
            elif response.status_code == 400:
                is_json = response.headers["content-type"].startswith("application/json")
                if not is_json or "error" not in response.json():
                    problems.append(f"{name}={value!r}: 400 without a JSON error")
            else:
                problems.append(f"{name}={value!r}: {response.status_code}")
    assert problems == []
    body = (await browser.get("/api/v1/listings", params={"q": "metacharacter"})).json()
    assert [hit["id"] for hit in body["hits"]] == [searchable] and body["degraded"] is False


async def test_metacharacters_in_the_search_page_and_landing_pages_never_break_or_degrade(browser, searchable):
    names = await _parameter_names(browser)
    problems = []
    for name in names:
        for value in METACHARACTERS[:9]:
            response = await browser.get("/jobs", params={name: value})
            if response.status_code not in (200, 400) or 'id="degraded-notice"' in response.text:
                problems.append(f"/jobs {name}={value!r}: {response.status_code}")
    for path in ("/jobs/credential/%27%20OR%201%3D1", "/jobs/state/%25", "/jobs/credential/%5C"):
        response = await browser.get(path)
        if response.status_code not in (200, 400, 404) or 'id="degraded-notice"' in response.text:
            problems.append(f"{path}: {response.status_code}")
    assert problems == []


async def test_like_wildcards_match_only_themselves_on_the_database_fallback(settings, searchable):
    without_search = settings.replace(meili_url="")
    # Unescaped, each of these would be a LIKE pattern matching "Metacharacter proof coder".
    for pattern in ("m_tacharacter", "meta%coder", "%character", "metachar_cter", "proof_coder", "meta\\%"):
        result = await search_listings(parse_query({"q": [pattern]}), without_search)
        assert result.degraded and result.hits == [], f"q={pattern!r} matched {len(result.hits)} listings"
    result = await search_listings(parse_query({"q": ["metacharacter"]}), without_search)
    assert [h["id"] for h in result.hits] == [searchable]
