"""``synthgen serve``: generation jobs over HTTP on the one engine (``run.expand``), with a
job store, a scheduler, tokens, and a web page. Needs the ``serve`` extra
(``pip install 'synthgen[serve]'``); nothing here is imported by ``synthgen --help``."""
