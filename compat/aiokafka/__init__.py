"""aiokafka 0.14.0 against a live kgw (asyncio, driven with asyncio.run)."""
