# nbconvert configuration for tools/run_notebooks.sh and tools/docs_notebooks.sh: inline SVG charts.
# Every chart bundle (lib/plots/render.ts chartBundle) carries the SVG twice: as image/svg+xml and as a Markdown
# image (data URI). Plain `jupyter nbconvert --to html` prefers the Markdown image, because nbconvert 6.5 passes
# image/svg+xml through its `clean_html` filter, which strips every SVG element it does not know (<g>, <path>, ...)
# and leaves empty charts. Our pages keep the SVG inline instead (searchable text, smaller): SVG is preferred to
# Markdown, and the SVGs, written by our own code (vega's SVG renderer), are kept as they are.
c = get_config()  # noqa: F821 (provided by traitlets when the file is loaded)
c.HTMLExporter.filters = {"clean_html": lambda html: html}
c.NbConvertBase.display_data_priority = [
    "application/vnd.jupyter.widget-view+json",
    "application/javascript",
    "text/html",
    "image/svg+xml",
    "text/markdown",
    "text/latex",
    "image/png",
    "image/jpeg",
    "text/plain",
]
