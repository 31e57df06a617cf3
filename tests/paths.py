"""Where the tests find the shared folder: beside the checkout (../shared), as CI lays it out; DEALWATCH_SHARED
names another."""
from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

SHARED = Path(os.environ.get("DEALWATCH_SHARED", Path(__file__).resolve().parents[2] / "shared"))
DEV_CORPUS = SHARED / "corpus" / "dev"


def corpus_server_class():
    """The evaluation harness's CorpusServer (shared/eval/corpus_server.py), loaded once; the test is skipped,
    saying why, when the shared folder is not beside the checkout."""
    module_path = SHARED / "eval" / "corpus_server.py"
    if not module_path.is_file() or not (DEV_CORPUS / "gold.jsonl").is_file():
        import pytest
        pytest.skip("shared/eval/corpus_server.py or shared/corpus/dev is not beside the repository")
    module = sys.modules.get("corpus_server")
    if module is None:
        spec = importlib.util.spec_from_file_location("corpus_server", module_path)
        module = importlib.util.module_from_spec(spec)
        sys.modules["corpus_server"] = module  # dataclasses look their module up there
        spec.loader.exec_module(module)
    return _quiet(module.CorpusServer)


_QUIET: dict[type, type] = {}


def _quiet(server_class: type) -> type:
    """The harness's server, letting a client hang up (a connection reset: a cycle killed mid-request, a
    response the fetcher stopped reading) without socketserver's traceback in the suite's output, as
    loopback.QuietHTTPServer does; any other error in a handler is still printed."""
    if server_class not in _QUIET:
        class QuietCorpusServer(server_class):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, **kwargs)
                printed = self._httpd.handle_error

                def handle_error(request, client_address):
                    if not isinstance(sys.exception(), ConnectionError):
                        printed(request, client_address)
                self._httpd.handle_error = handle_error

        QuietCorpusServer.__name__ = QuietCorpusServer.__qualname__ = server_class.__name__
        _QUIET[server_class] = QuietCorpusServer
    return _QUIET[server_class]

