"""Place a post-only buy well below the market, then cancel it.

python scripts/place_order.py [EXCHANGE] [SYMBOL] [AMOUNT] [PRICE]
Reads keys from .env (see .env.example). Add --paper to try it on the paper account.
"""

import asyncio
import sys
from decimal import Decimal

from dotenv import load_dotenv

from adapters import OrderRequest, OrderType, Side, open_exchange


async def main(exchange: str, symbol: str, amount: str, price: str, paper: bool) -> None:
    request = OrderRequest(
        symbol=symbol,
        side=Side.BUY,
        type=OrderType.LIMIT_MAKER,
        amount=Decimal(amount),
        price=Decimal(price),
    )
    # The id exists before anything is sent: whatever happens next, it finds the order
    # (ex.fetch_order_by_client_id).
    print(f"placing client order id {request.client_order_id}")
    async with open_exchange(exchange, paper=paper) as ex:
        order = await ex.create_order(request)
        print(f"placed {order.id} ({order.client_order_id}): {order.status}")
        print(f"cancelled: {(await ex.cancel_order(order.id, symbol)).status}")


if __name__ == "__main__":
    load_dotenv()
    paper = "--paper" in sys.argv
    args = [a for a in sys.argv[1:] if a != "--paper"]
    args += ["bitstamp", "BTC/USD", "0.001", "20000"][len(args) :]
    asyncio.run(main(*args[:4], paper=paper))
