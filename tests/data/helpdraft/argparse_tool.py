#!/usr/bin/env python3
"""A real argparse program (tests/data for `ossrflow interface draft`): count lines of FITS headers."""

import argparse


def main() -> None:
    parser = argparse.ArgumentParser(prog="fitscount", description="Count header cards in FITS files.")
    parser.add_argument("inputs", nargs="+", metavar="INPUT_FILE", help="FITS files to read")
    parser.add_argument("-o", "--output", metavar="FILE", help="where to write the table")
    parser.add_argument("--hdu", type=int, default=0, metavar="N", help="HDU index")
    parser.add_argument("--scale", type=float, help="scale factor")
    parser.add_argument("--mode", choices=["fast", "full"], default="fast", help="how to count")
    parser.add_argument("-v", "--verbose", action="store_true", help="say more")
    parser.add_argument("--config-dir", metavar="DIR", help="folder with settings")
    parser.add_argument("label", help="a label for the run")
    args = parser.parse_args()
    print(args)


if __name__ == "__main__":
    main()
