"""Pages for comms officers: the campaign as a calendar (`preview`) and what went out
(`status`).

Each page is one self-contained HTML file: inline CSS, images as data: URIs, no script, no
font or request leaving the file, so it can be mailed or opened from a shared drive. A
Content-Security-Policy forbids anything else. Templates (in `herald/templates/`) use a
normal Jinja2 environment with autoescape on (not the posts' sandbox): every text is escaped
except the post markup built by `common.linkify`, which escapes each piece itself.
"""
