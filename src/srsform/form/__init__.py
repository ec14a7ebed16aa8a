"""Stage 1, the paper: templates, rosters, page codes, geometry in mm, the renderer."""
