# nbconvert configuration for tools/run_notebooks.sh.
# nbconvert 6.5 passes image/svg+xml outputs through its bleach-based `clean_html` filter, which strips every SVG
# element it does not know (<g>, <path>, ...) and leaves empty charts. The SVGs in these notebooks are written by
# our own code (vega's SVG renderer, lib/plots/render.ts), so the HTML export keeps them as they are.
c = get_config()  # noqa: F821 (provided by traitlets when the file is loaded)
c.HTMLExporter.filters = {"clean_html": lambda html: html}
