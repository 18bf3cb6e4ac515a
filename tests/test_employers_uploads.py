"""Logos: checked by content, size-limited, re-encoded without metadata, stored under a random key and served safely."""

from __future__ import annotations

import io
import os

import pytest
from PIL import Image, PngImagePlugin

from careers.core.storage import InvalidKey, LocalDiskStorage, S3Storage, new_key, storage_at, storage_for
from employers.tables import Employer
from tests.conftest import ON_S3, register_employer, stored

ORG_FORM = {"name": "Acme Health", "website": "https://acmehealth.org", "about": "", "hq_zip": ""}


def png_bytes(size=(64, 32), *, comment: str | None = None, color=(200, 30, 60, 255)) -> bytes:
    image = Image.new("RGBA", size, color)
    info = PngImagePlugin.PngInfo()
    if comment:
        info.add_text("Comment", comment)
    out = io.BytesIO()
    image.save(out, format="PNG", pnginfo=info)
    return out.getvalue()


def jpeg_bytes_with_exif() -> bytes:
    image = Image.new("RGB", (80, 40), (10, 120, 200))
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    exif[0x8825] = {2: (41.0, 52.0, 0.0)}  # GPS latitude
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif.tobytes())
    return out.getvalue()


async def upload_logo(browser, data: bytes, filename: str = "logo.png", content_type: str = "image/png"):
    return await browser.submit("/employer/organisation", ORG_FORM, files={"logo": (filename, data, content_type)})


async def test_a_valid_png_is_re_encoded_without_metadata_and_served_as_png_with_nosniff(browser, make_browser, settings):
    await register_employer(browser)
    original = png_bytes(comment="taken at 42 Secret Street") + b"<script>alert(1)</script>"
    saved = await upload_logo(browser, original, filename="../../../etc/passwd.png")
    assert saved.status_code == 303, saved.text
    employer = await Employer.objects().get(Employer.slug == "acme-health")
    assert employer.logo_path.startswith("logos/") and employer.logo_path.endswith(".png")
    assert "passwd" not in employer.logo_path  # the uploader's file name never becomes a path
    assert await stored(settings, employer.logo_path) is not None
    if not ON_S3:
        assert "static" not in (settings.uploads_dir / employer.logo_path).parts

    visitor = make_browser()
    response = await visitor.get("/employers/acme-health/logo")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "max-age" in response.headers["cache-control"]
    assert response.content != original and b"Secret Street" not in response.content and b"<script>" not in response.content
    with Image.open(io.BytesIO(response.content)) as served:
        assert served.format == "PNG" and served.size == (64, 32)
        assert "Comment" not in served.info
    again = await visitor.get("/employers/acme-health/logo", headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304
    page = await visitor.get("/employers/acme-health")
    assert 'src="/employers/acme-health/logo"' in page.text


async def test_a_jpeg_logo_becomes_webp_without_its_exif(browser, make_browser):
    await register_employer(browser)
    saved = await upload_logo(browser, jpeg_bytes_with_exif(), "photo.jpg", "image/jpeg")
    assert saved.status_code == 303, saved.text
    response = await make_browser().get("/employers/acme-health/logo")
    assert response.headers["content-type"] == "image/webp"
    assert b"SecretCam" not in response.content
    with Image.open(io.BytesIO(response.content)) as served:
        assert served.format == "WEBP" and not served.getexif()


async def test_an_executable_renamed_png_is_refused(browser):
    await register_employer(browser)
    fake = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + os.urandom(2048)
    response = await upload_logo(browser, fake, "logo.png", "image/png")
    assert response.status_code == 400
    assert "The logo must be a PNG, JPEG or WebP image." in response.text
    assert 'value="Acme Health"' in response.text
    elf = await upload_logo(browser, b"\x7fELF\x02\x01\x01" + os.urandom(1024), "logo.png", "image/png")
    assert elf.status_code == 400
    assert (await Employer.objects().get(Employer.slug == "acme-health")).logo_path is None


async def test_other_image_formats_and_truncated_pngs_are_refused(browser):
    await register_employer(browser)
    gif = io.BytesIO()
    Image.new("RGB", (10, 10)).save(gif, format="GIF")
    assert (await upload_logo(browser, gif.getvalue(), "logo.gif", "image/gif")).status_code == 400
    truncated = png_bytes((200, 200))[:200]
    assert (await upload_logo(browser, truncated)).status_code == 400
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"></svg>'
    assert (await upload_logo(browser, svg, "logo.png", "image/png")).status_code == 400


async def test_a_3_mb_image_is_refused(browser):
    await register_employer(browser)
    noise = Image.frombytes("RGB", (1024, 1024), os.urandom(1024 * 1024 * 3))
    out = io.BytesIO()
    noise.save(out, format="PNG", compress_level=0)
    big = out.getvalue()
    assert len(big) > 3 * 1024 * 1024
    response = await upload_logo(browser, big)
    assert response.status_code == 400
    assert "The logo is larger than 2 MB." in response.text
    assert (await Employer.objects().get(Employer.slug == "acme-health")).logo_path is None


async def test_a_large_picture_is_scaled_down_and_replacing_or_removing_deletes_the_old_file(browser, settings):
    await register_employer(browser)
    assert (await upload_logo(browser, png_bytes((1600, 800)))).status_code == 303
    first = (await Employer.objects().get(Employer.slug == "acme-health")).logo_path
    with Image.open(io.BytesIO(await stored(settings, first))) as kept:
        assert kept.size == (512, 256)
    assert (await upload_logo(browser, png_bytes((40, 40)))).status_code == 303
    second = (await Employer.objects().get(Employer.slug == "acme-health")).logo_path
    assert second != first and await stored(settings, first) is None
    removed = await browser.submit("/employer/organisation", ORG_FORM | {"remove_logo": "1"})
    assert removed.status_code == 303
    assert (await Employer.objects().get(Employer.slug == "acme-health")).logo_path is None
    assert await stored(settings, second) is None
    assert (await browser.get("/employers/acme-health/logo")).status_code == 404


async def test_a_valid_logo_with_other_field_errors_asks_to_choose_it_again(browser):
    await register_employer(browser)
    response = await browser.submit("/employer/organisation", ORG_FORM | {"website": ""},
                                    files={"logo": ("logo.png", png_bytes(), "image/png")})
    assert response.status_code == 400
    assert "choose it again" in response.text
    assert (await Employer.objects().get(Employer.slug == "acme-health")).logo_path is None


@pytest.fixture(params=["file", "s3"])
def any_storage(request, tmp_path, moto_s3, settings):
    """Each backend in turn: the local disk and a fresh prefix of moto's S3 bucket."""
    if request.param == "file":
        return LocalDiskStorage(tmp_path)
    return storage_at(f"s3://{moto_s3.bucket}/unit-{tmp_path.name}", settings.replace(**moto_s3.settings_for("")))


async def test_each_storage_puts_opens_streams_copies_and_deletes_by_random_key(any_storage):
    storage = any_storage
    key = new_key("resumes", ".pdf")
    assert key.startswith("resumes/") and key.endswith(".pdf") and key != new_key("resumes", ".pdf")
    await storage.put(key, b"%PDF-1.7 hello")
    assert await storage.exists(key)
    assert await storage.read(key) == b"%PDF-1.7 hello"
    big = os.urandom(3 * 1024 * 1024 + 17)  # several download chunks
    await storage.put(key, big)  # replaces
    async with await storage.open(key) as opened:
        assert opened.size == len(big)
        chunks = [chunk async for chunk in opened]
    assert len(chunks) > 1 and b"".join(chunks) == big

    async def parts():
        yield b"%PDF-"
        yield b"streamed"

    copy = new_key("application-resumes", ".pdf")
    await storage.put(copy, parts())
    assert await storage.read(copy) == b"%PDF-streamed"
    await storage.copy(key, copy)
    assert await storage.read(copy) == big
    assert {info.key: info.size for info in [i async for i in storage.list()]} == {key: len(big), copy: len(big)}
    await storage.delete(key)
    await storage.delete(key)  # deleting twice is fine
    assert not await storage.exists(key)
    with pytest.raises(FileNotFoundError):
        await storage.open(key)
    with pytest.raises(FileNotFoundError):
        await storage.copy(key, new_key("resumes"))


@pytest.mark.parametrize("key", ["../secret", "logos/../../etc/passwd", "/etc/passwd", "logos/evil name.png",
                                 "logos/" + "a" * 32 + "/x", "Logos/" + "a" * 32, ""])
async def test_storage_refuses_keys_it_did_not_make(any_storage, key):
    with pytest.raises(InvalidKey):
        await any_storage.put(key, b"x")
    with pytest.raises(InvalidKey):
        await any_storage.open(key)


def test_storage_lives_under_the_data_dir_not_static_unless_storage_url_says_s3(settings):
    default = storage_for(settings.replace(storage_url=""))
    assert isinstance(default, LocalDiskStorage) and default.root == settings.data_dir / "uploads"
    s3 = storage_for(settings.replace(storage_url="s3://some-bucket/careers/uploads", s3_endpoint_url="http://127.0.0.1:9",
                                      aws_access_key_id="key", aws_secret_access_key="secret"))
    assert isinstance(s3, S3Storage) and s3.bucket == "some-bucket" and s3.prefix == "careers/uploads"
    with pytest.raises(InvalidKey):
        new_key("../static")
