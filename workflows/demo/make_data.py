"""Write the demo's data: four small synthetic FITS exposures of the open cluster M67, and the cart.

The exposures are what a small telescope delivers after one night on one field: 64x64 16-bit
images (sky background, a handful of stars, read noise) in the B, V and R filters, with the
header keywords an observing log is made of (OBJECT, DATE-OBS, FILTER, EXPTIME, AIRMASS) and a
celestial WCS. One exposure arrives already stamped with FITS CHECKSUM/DATASUM keywords, as
archives deliver them; the others have none yet. The values are synthetic (``ORIGIN`` says so).

Noise comes from a fixed integer generator, not numpy's random streams, so the bytes are the same
on every machine: the files are committed, and ``cart.json`` lists each with its size and sha256.
Run this script only to regenerate them; ``--check`` compares the committed files with what it
would write.

Usage:  python workflows/demo/make_data.py [--check]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import sys
from pathlib import Path

import numpy as np
from astropy.io import fits  # type: ignore[import-untyped]

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
CART = HERE / "cart.json"
SIZE = 64

# (file name, filter, DATE-OBS, EXPTIME [s], AIRMASS, stamped with checksums on delivery)
EXPOSURES = (
    ("m67_B_001.fits", "B", "2024-03-14T21:02:11", 120.0, 1.212, False),
    ("m67_V_001.fits", "V", "2024-03-14T21:06:40", 60.0, 1.198, True),
    ("m67_R_001.fits", "R", "2024-03-14T21:09:05", 60.0, 1.191, False),
    ("m67_V_002.fits", "V", "2024-03-14T22:31:52", 60.0, 1.153, False),
)
# Stars: (x, y, relative flux); the same field in every exposure.
STARS = (
    (14.2, 20.7, 1.0),
    (40.5, 12.3, 0.45),
    (31.8, 44.1, 2.3),
    (52.6, 50.4, 0.7),
    (9.4, 55.0, 0.3),
)
# Flux of a unit star for one second, by filter (M67 is an old cluster: red stars are brighter).
ZEROPOINT = {"B": 40.0, "V": 65.0, "R": 80.0}
MASK = (1 << 64) - 1


def noise(seed: int, shape: tuple[int, int]) -> np.ndarray:
    """Approximately normal N(0, 1) noise from a 64-bit LCG: identical bytes on every platform."""
    state = (seed * 2654435761 + 1) & MASK
    values = []
    for _ in range(shape[0] * shape[1] * 4):
        state = (state * 6364136223846793005 + 1442695040888963407) & MASK
        values.append(state >> 40)
    uniform = np.array(values, dtype=np.float64) / float(1 << 24)
    # Irwin-Hall: the sum of four uniforms, centred and scaled, is close enough to normal here.
    normal: np.ndarray = ((uniform.reshape(4, -1).sum(axis=0) - 2.0) * np.sqrt(3.0)).reshape(shape)
    return normal


def image(band: str, exptime: float, airmass: float, seed: int) -> np.ndarray:
    """Sky + seeing-limited stars + noise, in ADU, as 16-bit integers."""
    y, x = np.mgrid[0:SIZE, 0:SIZE].astype(np.float64)
    sigma = 1.4 * airmass**0.6  # seeing grows with airmass
    extinction = 10 ** (-0.4 * 0.2 * airmass)
    sky = np.full((SIZE, SIZE), 200.0 + 0.8 * exptime)
    for star_x, star_y, flux in STARS:
        total = ZEROPOINT[band] * exptime * flux * extinction
        profile = np.exp(-((x - star_x) ** 2 + (y - star_y) ** 2) / (2 * sigma**2))
        sky += total * profile / (2 * np.pi * sigma**2)
    counts: np.ndarray = np.rint(sky + np.sqrt(sky + 25.0) * noise(seed, sky.shape))
    return counts.clip(0, 32767).astype(">i2")


def header(band: str, date: str, exptime: float, airmass: float) -> fits.Header:
    cards = fits.Header()
    cards["ORIGIN"] = ("ossrflow demo", "synthetic data (workflows/demo/make_data.py)")
    cards["OBJECT"] = ("M67", "open cluster NGC 2682")
    cards["DATE-OBS"] = (date, "start of exposure (UTC)")
    cards["EXPTIME"] = (exptime, "[s] exposure time")
    cards["FILTER"] = (band, "Johnson-Cousins filter")
    cards["AIRMASS"] = (airmass, "airmass at start of exposure")
    cards["BUNIT"] = "adu"
    for key, value in (
        ("CTYPE1", "RA---TAN"),
        ("CTYPE2", "DEC--TAN"),
        ("CRVAL1", 132.825),
        ("CRVAL2", 11.8),
        ("CRPIX1", 32.5),
        ("CRPIX2", 32.5),
        ("CDELT1", -0.000277777778),
        ("CDELT2", 0.000277777778),
        ("CUNIT1", "deg"),
        ("CUNIT2", "deg"),
        ("RADESYS", "ICRS"),
    ):
        cards[key] = value
    return cards


def exposures() -> dict[str, fits.PrimaryHDU]:
    """File name -> the exposure, built in memory."""
    built = {}
    for seed, (name, band, date, exptime, airmass, stamped) in enumerate(EXPOSURES, start=1):
        hdu = fits.PrimaryHDU(
            image(band, exptime, airmass, seed), header(band, date, exptime, airmass)
        )
        if stamped:  # a fixed comment instead of astropy's timestamp: the same bytes every time
            hdu.add_checksum(when="written by the archive")
        built[name] = hdu
    return built


def write_exposures() -> None:
    DATA.mkdir(exist_ok=True)
    for name, hdu in exposures().items():
        hdu.writeto(DATA / name, overwrite=True)


def cart_items() -> list[dict[str, object]]:
    items: list[dict[str, object]] = []
    for name, *_ in EXPOSURES:
        data = (DATA / name).read_bytes()
        items.append(
            {
                "location": f"data/{name}",
                "name": name,
                "size": len(data),
                "checksum": "sha256:" + hashlib.sha256(data).hexdigest(),
                "format": "application/fits",
            }
        )
    return items


def fits_bytes(hdu: fits.PrimaryHDU) -> bytes:
    buffer = io.BytesIO()
    hdu.writeto(buffer)
    return buffer.getvalue()


def stale_files() -> list[str]:
    """Committed files whose bytes differ from what this script makes now."""
    differ = [
        name
        for name, hdu in exposures().items()
        if not (DATA / name).is_file() or (DATA / name).read_bytes() != fits_bytes(hdu)
    ]
    if not CART.is_file() or CART.read_text(encoding="utf-8") != render_cart():
        differ.append(CART.name)
    return differ


def render_cart() -> str:
    return json.dumps({"items": cart_items()}, indent=2) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="verify the committed files only")
    args = parser.parse_args()
    if args.check:
        differ = stale_files()
        print(
            "data and cart.json are up to date"
            if not differ
            else f"out of date: {', '.join(differ)}"
        )
        return 1 if differ else 0
    write_exposures()
    CART.write_text(render_cart(), encoding="utf-8")
    print(f"wrote {len(EXPOSURES)} exposures to {DATA} and {CART}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
