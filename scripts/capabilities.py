"""What does each exchange support? Offline, instant: python scripts/capabilities.py"""

from adapters import OrderType, capabilities, supported_exchanges

for exchange in supported_exchanges():
    card = capabilities(exchange)
    print(f"{card.name}: {', '.join(card.order_type_names)}; "
          f"MARKET {'yes' if card.supports(OrderType.MARKET) else 'no'}; "
          f"paper trading as {card.paper_trade_id}")  # fmt: skip
