"""The offline streams example in README.md runs as written (bounded in time)."""

from __future__ import annotations

import asyncio
import re
from decimal import Decimal
from typing import Any

import pytest

from adapters.venues.bitmart.replay import bitmart_books

from .streams_support import ROOT, recording


def offline_example() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Streams", 1)[1].split("### Run it offline", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match is not None, "no python block under 'Run it offline'"
    return match.group(1)


async def test_the_offline_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    code = offline_example().replace("asyncio.run(main())", "")
    namespace: dict[str, Any] = {}
    exec(compile(code, "README.md", "exec"), namespace)
    await asyncio.wait_for(namespace["main"](), 10.0)
    out = capsys.readouterr().out.splitlines()
    # the last line shows the book after every recorded frame, folded independently
    book = bitmart_books(recording("bitmart", "depth_increase100_derived").frames)["ETH_USDT"]
    match = re.fullmatch(r"\d+ books; last best bid/ask (\S+) / (\S+)", out[-1])
    assert match is not None, out[-1]
    assert Decimal(match[1]) == Decimal(book["bids"][0][0])
    assert Decimal(match[2]) == Decimal(book["asks"][0][0])
    assert len(out) >= 2 and " bid (Decimal(" in out[0]
