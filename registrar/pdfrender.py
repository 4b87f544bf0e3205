"""Render a PDF's pages into one PNG picture, in a child process of its own.

`registrar.uploads` runs this file as `python -I pdfrender.py ...` with the PDF on standard input and
reads the PNG from standard output. PDFium parses the untrusted file here, bounded by the parent's
time limit and by the memory limit this process sets itself; a crash or a runaway page costs this
process only. Nothing of Django is imported: the file needs only pypdfium2 and Pillow.

PDFium is used without its form environment, so that no JavaScript, action or form field of the
document runs; what comes out is pixels only. The pages are stacked one under another, scaled to
`--dpi` (and down to `--max-side` pixels on their longer side), separated by a grey band.

Exit status: 0 with the PNG written, otherwise one of the codes below with nothing written.
"""

import argparse
import io
import resource
import sys

DAMAGED = 3
PASSWORD = 4
TOO_MANY_PAGES = 5
TOO_LARGE = 6
# JPEG, which the parent stores, holds at most 65,535 pixels a side.
MAX_HEIGHT = 65_000
GAP = 8
GAP_COLOUR = (200, 200, 200)


def page_sizes(document, *, dpi, max_side):
    """(scale, width, height) of each page in pixels."""
    sizes = []
    for index in range(len(document)):
        width, height = document[index].get_size()
        scale = min(dpi / 72, max_side / max(width, height, 1))
        sizes.append((scale, max(round(width * scale), 1), max(round(height * scale), 1)))
    return sizes


def render(data, *, dpi, max_pages, max_pixels, max_side):
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c
    from PIL import Image, ImageDraw

    try:
        document = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as error:
        return (PASSWORD if error.err_code == pdfium_c.FPDF_ERR_PASSWORD else DAMAGED), None
    count = len(document)
    if count == 0:
        return DAMAGED, None
    if count > max_pages:
        return TOO_MANY_PAGES, str(count)
    sizes = page_sizes(document, dpi=dpi, max_side=max_side)
    width = max(size[1] for size in sizes)
    height = sum(size[2] for size in sizes) + GAP * (count - 1)
    if width * height > max_pixels or height > MAX_HEIGHT:
        return TOO_LARGE, None
    canvas = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(canvas)
    top = 0
    for index, (scale, page_width, page_height) in enumerate(sizes):
        if index:
            draw.rectangle((0, top - GAP, width - 1, top - 1), fill=GAP_COLOUR)
        bitmap = document[index].render(scale=scale, may_draw_forms=False)
        picture = bitmap.to_pil().convert("RGB")
        if picture.size != (page_width, page_height):
            picture = picture.resize((page_width, page_height))
        canvas.paste(picture, (0, top))
        top += page_height + GAP
    output = io.BytesIO()
    canvas.save(output, "PNG", compress_level=1)
    return 0, output.getvalue()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dpi", type=int, required=True)
    parser.add_argument("--max-pages", type=int, required=True)
    parser.add_argument("--max-pixels", type=int, required=True)
    parser.add_argument("--max-side", type=int, required=True)
    parser.add_argument("--max-memory", type=int, required=True, help="bytes of address space")
    args = parser.parse_args()
    resource.setrlimit(resource.RLIMIT_AS, (args.max_memory, args.max_memory))
    data = sys.stdin.buffer.read()
    status, result = render(
        data, dpi=args.dpi, max_pages=args.max_pages, max_pixels=args.max_pixels, max_side=args.max_side
    )
    if status:
        if result:
            sys.stderr.write(result)
        return status
    sys.stdout.buffer.write(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
