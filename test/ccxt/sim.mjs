// Drives the TradAI paper exchange simulator with ccxt's binance class,
// unchanged except for its API URLs, as a real client would. Prints one
// JSON object with what it saw; exits 1 on any failure.
//
//   SIM_URL=http://127.0.0.1:8090 SIM_API_KEY=… SIM_SECRET=… node sim.mjs
import ccxt from 'ccxt';

const base = process.env.SIM_URL;
const symbol = process.env.SIM_SYMBOL || 'BTC/USDT';
if (!base || !process.env.SIM_API_KEY || !process.env.SIM_SECRET) {
  console.error('set SIM_URL, SIM_API_KEY and SIM_SECRET');
  process.exit(2);
}

const ex = new ccxt.binance({
  apiKey: process.env.SIM_API_KEY,
  secret: process.env.SIM_SECRET,
  enableRateLimit: false,
  options: {
    defaultType: 'spot',
    fetchCurrencies: false,
    fetchMarkets: { types: ['spot'] },
    fetchMargins: false,
  },
});
// Spot REST lives under /api/v3 on the simulator as on Binance.
ex.urls.api = { ...ex.urls.api, public: `${base}/api/v3`, private: `${base}/api/v3`, v1: `${base}/api/v1` };

const out = {};
try {
  const markets = await ex.loadMarkets();
  const m = markets[symbol];
  out.market = { id: m.id, spot: m.spot, amountPrecision: m.precision.amount, pricePrecision: m.precision.price, minCost: m.limits.cost.min };

  const ohlcv = await ex.fetchOHLCV(symbol, '1m', undefined, 5);
  out.ohlcv = { count: ohlcv.length, lastClose: ohlcv.at(-1)[4] };

  const ticker = await ex.fetchTicker(symbol);
  out.ticker = { last: ticker.last, bid: ticker.bid, ask: ticker.ask };

  const balance = await ex.fetchBalance();
  out.balanceBefore = { USDT: balance.USDT, BTC: balance.BTC };

  const limit = await ex.createOrder(symbol, 'limit', 'buy', 0.5, 100.1, { newClientOrderId: 'ccxt-1' });
  const fetched = await ex.fetchOrder(limit.id, symbol);
  const open = await ex.fetchOpenOrders(symbol);
  const cancelled = await ex.cancelOrder(limit.id, symbol);
  out.limit = { status: limit.status, clientOrderId: limit.clientOrderId, fetchedStatus: fetched.status, fetchedPrice: fetched.price, open: open.length, cancelled: cancelled.status };

  const market = await ex.createOrder(symbol, 'market', 'buy', 0.2);
  const marketFetched = await ex.fetchOrder(market.id, symbol);
  out.market_order = { status: market.status, filled: market.filled, average: market.average, fee: market.fees?.[0] ?? market.fee, fetchedStatus: marketFetched.status };

  const sell = await ex.createOrder(symbol, 'market', 'sell', 0.1);
  out.sell = { status: sell.status, filled: sell.filled };

  const trades = await ex.fetchMyTrades(symbol);
  out.trades = trades.map((t) => ({ side: t.side, amount: t.amount, price: t.price, fee: t.fee, takerOrMaker: t.takerOrMaker }));

  try {
    await ex.createOrder(symbol, 'market', 'sell', 1000);
    out.insufficient = 'no error';
  } catch (e) {
    out.insufficient = e.constructor.name;
  }
  const after = await ex.fetchBalance();
  out.balanceAfter = { USDT: after.USDT, BTC: after.BTC };

  // Streams: ccxt.pro's binance (part of the ccxt package) with its
  // websocket URL pointed at the simulator. watchOHLCV subscribes to
  // <symbol>@kline_1m; the simulator's clock is stepped (admin endpoint)
  // until a candle arrives. (watchOrders is not tried: for spot, ccxt
  // subscribes to user data over Binance's WebSocket API, ws-api/v3, which
  // the simulator does not serve.)
  const pro = new ccxt.pro.binance({
    apiKey: process.env.SIM_API_KEY,
    secret: process.env.SIM_SECRET,
    enableRateLimit: false,
    options: ex.options,
  });
  pro.urls.api = { ...ex.urls.api, ws: { ...pro.urls.api.ws, spot: `${base.replace(/^http/, 'ws')}/ws` } };
  await pro.loadHttpProxyAgent(); // ccxt needs an http agent for plain ws:// URLs
  await pro.loadMarkets();
  const watching = pro.watchOHLCV(symbol, '1m');
  let candles;
  for (let i = 0; i < 50 && candles === undefined; i++) {
    await fetch(`${base}/sim/v1/step?candles=1`, { method: 'POST' });
    candles = await Promise.race([watching, new Promise((r) => setTimeout(r, 100))]);
  }
  if (candles === undefined) throw new Error('watchOHLCV: no candle');
  const last = await ex.fetchOHLCV(symbol, '1m', undefined, 1);
  out.watchOHLCV = { count: candles.length, time: candles.at(-1)[0], close: candles.at(-1)[4], restTime: last[0][0], restClose: last[0][4] };
  await pro.close();
  console.log(JSON.stringify(out));
} catch (e) {
  console.error(`${e.constructor.name}: ${e.message}`);
  console.log(JSON.stringify(out));
  process.exit(1);
}
