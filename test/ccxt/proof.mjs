// The ccxt proof: drives the TradAI paper exchange simulator with ccxt's
// binance class (REST and websockets, from npm, locked in
// package-lock.json) as a Freqtrade bot does at start and in its loop —
// only the URLs changed, no options — and checks every answer. It exits 1
// on the first failed check and prints one JSON line with what it saw and
// how long each step took.
//
//   node proof.mjs http://127.0.0.1:8090 API_KEY SECRET [--mode replay|shifted|live] [--symbol ETH/BTC]
//
// --mode says how the simulator's clock relates to the wall clock:
// "replay" (the replayed history's own time, stepped through the admin
// endpoint) skips the checks that need market time to be now; "shifted"
// and "live" (history mapped onto the present, or live data) run them:
// fetch_ohlcv since now − 1 h, order and trade times near now.
import ccxt from 'ccxt';

const args = process.argv.slice(2);
const flag = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const [base, apiKey, secret] = args;
const mode = flag('mode', 'replay');
const symbol = flag('symbol', 'ETH/BTC');
if (!base || !apiKey || !secret || !['replay', 'shifted', 'live'].includes(mode)) {
  console.error('usage: node proof.mjs URL API_KEY SECRET [--mode replay|shifted|live] [--symbol BASE/QUOTE]');
  process.exit(2);
}
const timeAligned = mode !== 'replay';

// Every ccxt URL on the simulator: REST hosts (api, sapi, fapi, dapi …)
// keep their paths, websocket hosts become ws:// on the same address.
function pointAt(ex, url) {
  const ws = url.replace(/^http/, 'ws');
  const walk = (o) => {
    for (const [k, v] of Object.entries(o)) {
      if (typeof v === 'string') {
        const u = new URL(v);
        o[k] = (u.protocol.startsWith('ws') ? ws : url) + u.pathname;
      } else if (v && typeof v === 'object') {
        walk(v);
      }
    }
  };
  walk(ex.urls.api);
}

const out = { mode, symbol, steps: {} };
let stepName = '';
async function step(name, f) {
  stepName = name;
  const t0 = performance.now();
  const r = await f();
  out.steps[name] = Math.round(performance.now() - t0);
  return r;
}
function check(ok, what, detail) {
  if (!ok) throw new Error(`${what}: ${JSON.stringify(detail)}`);
}
const within = (t, ms) => Math.abs(Date.now() - t) <= ms;
const timeout = (ms, what) => new Promise((_, rej) => setTimeout(() => rej(new Error(`${what}: nothing within ${ms} ms`)), ms).unref());

// Moves the simulation clock: one candle through the admin endpoint in
// replay mode; the clock moves by itself in the others.
async function advance() {
  if (timeAligned) return new Promise((r) => setTimeout(r, 1000));
  const res = await fetch(`${base}/sim/v1/step?candles=1`, { method: 'POST' });
  check(res.ok, 'step the simulation clock', res.status);
}

// waitFor resolves a ccxt watch whose answer satisfies ok, moving the
// clock between tries.
async function waitFor(watch, ok, what, tries = 40) {
  for (let i = 0; i < tries; i++) {
    const got = await Promise.race([watch(), new Promise((r) => setTimeout(() => r(undefined), 250))]);
    if (got !== undefined && ok(got)) return got;
    if (got === undefined) await advance();
  }
  throw new Error(`${what}: not received`);
}

const ex = new ccxt.pro.binance({ apiKey, secret });
pointAt(ex, base);
const t0 = performance.now();
try {
  // ---- start: what Freqtrade does before its first loop ----
  const markets = await step('load_markets', () => ex.loadMarkets());
  const m = markets[symbol];
  check(m && m.spot && m.active, 'load_markets lists the pair as an active spot market', m);
  check(m.precision.amount > 0 && m.precision.price > 0 && m.limits.cost.min > 0, 'market precision and limits', { precision: m.precision, limits: m.limits });
  check(ex.currencies[m.base] && ex.currencies[m.quote], 'currencies from capital/config/getall', Object.keys(ex.currencies));
  out.market = { id: m.id, precision: m.precision, minCost: m.limits.cost.min };

  const status = await step('fetch_status', () => ex.fetchStatus());
  check(status.status === 'ok', 'fetch_status', status);
  const fees = await step('fetch_trading_fees', () => ex.fetchTradingFees());
  check(fees[symbol] && fees[symbol].maker === 0.001 && fees[symbol].taker === 0.001, 'trading fees', fees[symbol]);

  const balance = await step('fetch_balance', () => ex.fetchBalance());
  check(balance[m.quote]?.free > 0, 'fetch_balance has quote funds', balance[m.quote]);
  out.balanceBefore = { [m.base]: balance[m.base], [m.quote]: balance[m.quote] };
  const total = (b, asset) => b[asset]?.total ?? 0;

  // ---- the loop: market data ----
  const tickers = await step('fetch_tickers', () => ex.fetchTickers());
  const tk = tickers[symbol];
  check(tk && tk.last > 0 && tk.bid > 0 && tk.ask >= tk.bid && tk.quoteVolume >= 0, 'fetch_tickers', tk);

  const ohlcv = await step('fetch_ohlcv', () => ex.fetchOHLCV(symbol, '5m', undefined, 100));
  check(ohlcv.length === 100 && ohlcv.every((c, i) => i === 0 || c[0] - ohlcv[i - 1][0] === 300_000), 'fetch_ohlcv: 100 consecutive 5m candles', ohlcv.length);
  // A stepped replay stands still between steps: the answers agree exactly.
  const still = mode === 'replay';
  if (still) check(ohlcv.at(-1)[4] === tk.last, 'the newest candle closes at the last price', { candle: ohlcv.at(-1), last: tk.last });
  const hourAgo = Date.now() - 3_600_000;
  const recent = await step('fetch_ohlcv_since_1h', () => ex.fetchOHLCV(symbol, '5m', hourAgo));
  out.ohlcvSince1h = recent.length;
  if (timeAligned) {
    // A live simulator holds a candle a moment after its close (its poll's
    // delay); until then its list ends at the candle before: one less, and
    // no forming one.
    const late = mode === 'live' ? 1 : 0;
    check(recent.length >= 12 - 2 * late && recent[0][0] >= hourAgo - 300_000 && within(recent.at(-1)[0], 600_000 + late * 60_000), 'fetch_ohlcv since now − 1 h: the last hour', recent.map((c) => c[0]));
  }
  const until = ohlcv.at(-10)[0];
  const older = await step('fetch_ohlcv_until', () => ex.fetchOHLCV(symbol, '5m', undefined, 5, { until }));
  check(older.length === 5 && older.at(-1)[0] === until, 'fetch_ohlcv with until (klines endTime)', older.map((c) => c[0]));

  const book = await step('fetch_order_book', () => ex.fetchOrderBook(symbol, 5));
  check(book.bids.length === 5 && book.asks.length === 5 && book.bids[0][0] <= book.asks[0][0] && (!still || book.bids[0][0] === tk.bid && book.asks[0][0] === tk.ask), 'fetch_order_book: 5 levels at the bid and ask', { bids: book.bids, asks: book.asks, tk });
  const trades = await step('fetch_trades', () => ex.fetchTrades(symbol, undefined, 20));
  check(trades.length === 20 && (!still || trades.at(-1).price === tk.last), 'fetch_trades ends at the last price', trades.at(-1));

  // ---- the loop: orders, watched over the WebSocket API ----
  await ex.loadHttpProxyAgent(); // ccxt wants an http agent for plain ws:// URLs
  const seen = new Map(); // order id → newest status watchOrders reported
  let watching = true;
  const watchLoop = (async () => {
    while (watching) {
      const orders = await ex.watchOrders(symbol);
      for (const o of orders) seen.set(o.id, o);
    }
  })().catch((e) => { if (watching) throw e; });
  await step('watch_orders_subscribe', () => new Promise((r) => setTimeout(r, 200)));

  const price = (x) => Number(ex.priceToPrecision(symbol, x));
  const amount = Number(ex.amountToPrecision(symbol, Math.max(m.limits.cost.min * 20 / tk.ask, m.limits.amount.min * 20)));
  const limit = await step('create_limit_order', () => ex.createOrder(symbol, 'limit', 'buy', amount, price(tk.bid * 0.9)));
  check(limit.status === 'open' && limit.amount === amount && limit.filled === 0, 'a limit buy below the price rests', limit);
  const fetched = await step('fetch_order', () => ex.fetchOrder(limit.id, symbol));
  check(fetched.status === 'open' && fetched.price === price(tk.bid * 0.9), 'fetch_order', fetched);
  const open = await step('fetch_open_orders', () => ex.fetchOpenOrders(symbol));
  check(open.some((o) => o.id === limit.id), 'fetch_open_orders', open.map((o) => o.id));
  const cancelled = await step('cancel_order', () => ex.cancelOrder(limit.id, symbol));
  check(cancelled.status === 'canceled', 'cancel_order', cancelled);

  const nextBalance = ex.watchBalance();
  const buy = await step('create_market_order', () => ex.createOrder(symbol, 'market', 'buy', amount));
  check(buy.status === 'closed' && buy.filled === amount && buy.average > 0 && buy.fee?.currency === m.base, 'a market buy fills at once, its fee in the base asset', buy);
  if (timeAligned) check(within(buy.timestamp, 60_000), 'the order is stamped now', buy.timestamp);
  const watched = await step('watch_orders_fill', async () => {
    for (let i = 0; i < 40 && seen.get(buy.id)?.status !== 'closed'; i++) await new Promise((r) => setTimeout(r, 50));
    return seen.get(buy.id);
  });
  check(watched?.status === 'closed' && watched.filled === amount, 'watch_orders receives the fill', watched);
  const wbal = await step('watch_balance', () => Promise.race([nextBalance, timeout(5000, 'watch_balance')]));
  check(wbal[m.base]?.total > total(balance, m.base), 'watch_balance shows the bought asset', wbal[m.base]);
  const mine = await step('fetch_my_trades', () => ex.fetchMyTrades(symbol, buy.timestamp));
  const buyTrades = mine.filter((t) => t.order === buy.id);
  check(buyTrades.length >= 1 && buyTrades.reduce((s, t) => s + t.amount, 0) === amount && buyTrades[0].takerOrMaker === 'taker', 'fetch_my_trades since the order', mine);
  if (timeAligned) {
    const lastHour = await ex.fetchMyTrades(symbol, hourAgo);
    check(lastHour.some((t) => t.order === buy.id), 'fetch_my_trades since now − 1 h has the trade', lastHour.length);
  }

  // Freqtrade's stop-loss on the exchange: a STOP_LOSS_LIMIT sell of
  // what the buy gave (its amount less the fee in the base asset).
  const held = Number(ex.amountToPrecision(symbol, amount - buy.fee.cost));
  const stop = await step('create_stop_loss_limit', () =>
    ex.createOrder(symbol, 'STOP_LOSS_LIMIT', 'sell', held, price(tk.bid * 0.9), { stopPrice: price(tk.bid * 0.95) }));
  check(stop.status === 'open' && stop.info.type === 'STOP_LOSS_LIMIT' && stop.triggerPrice === price(tk.bid * 0.95), 'a stop-loss-limit sell waits', stop);
  const stopFetched = await ex.fetchOrder(stop.id, symbol);
  check(stopFetched.status === 'open' && stopFetched.triggerPrice === price(tk.bid * 0.95), 'fetch_order of the stop', stopFetched);
  const stopCancelled = await step('cancel_stop_loss_limit', () => ex.cancelOrder(stop.id, symbol));
  check(stopCancelled.status === 'canceled', 'cancel the stop', stopCancelled);

  // Orders over the WebSocket API (ccxt's createOrderWs, cancelOrderWs).
  const wsOrder = await step('create_order_ws', () => ex.createOrderWs(symbol, 'limit', 'buy', amount, price(tk.bid * 0.9)));
  check(wsOrder.status === 'open' && wsOrder.amount === amount, 'create_order_ws: a resting limit buy', wsOrder);
  const wsCancel = await step('cancel_order_ws', () => ex.cancelOrderWs(wsOrder.id, symbol));
  check(wsCancel.status === 'canceled', 'cancel_order_ws', wsCancel);

  const sell = await step('create_market_sell', () => ex.createOrder(symbol, 'market', 'sell', held));
  check(sell.status === 'closed' && sell.filled === held && sell.fee?.currency === m.quote, 'a market sell, its fee in the quote asset', sell);

  // Rejections a bot must tell apart.
  const rejected = async (f) => { try { await f(); return 'none'; } catch (e) { return e.constructor.name; } };
  out.rejections = {
    insufficient: await rejected(() => ex.createOrder(symbol, 'market', 'buy', Number(ex.amountToPrecision(symbol, balance[m.quote].total * 10 / tk.ask)))),
    farPrice: await rejected(() => ex.createOrder(symbol, 'limit', 'buy', amount, price(tk.bid * 0.1))),
  };
  check(out.rejections.insufficient === 'InsufficientFunds' && out.rejections.farPrice === 'InvalidOrder', 'rejections', out.rejections);

  const after = await step('fetch_balance_after', () => ex.fetchBalance());
  out.balanceAfter = { [m.base]: after[m.base], [m.quote]: after[m.quote] };
  const spent = buyTrades.reduce((s, t) => s + t.cost, 0);
  const baseDelta = total(after, m.base) - total(balance, m.base);
  check(Math.abs(baseDelta - (amount - buy.fee.cost - held)) < 1e-8, 'base balance: the amount bought less its fee less the amount sold', { baseDelta, fee: buy.fee, held });
  check(Math.abs(total(after, m.quote) - total(balance, m.quote) - (sell.cost - sell.fee.cost - spent)) < 1e-8, 'quote balance: the sale less its fee, less the purchase', { before: balance[m.quote], after: after[m.quote] });

  // ---- market data streams ----
  // They send as the market moves: in replay mode the proof steps the
  // clock; in the shifted and live modes a 5m market moves once every
  // 75 s at the soonest, so there they are proved by the replay run (and
  // by internal/sim/binanceapi's stream tests).
  if (!timeAligned) {
    const candles = await step('watch_ohlcv', () => waitFor(() => ex.watchOHLCV(symbol, '5m'), (c) => c.length > 0, 'watch_ohlcv'));
    out.watchOHLCV = candles.at(-1);
    const ticker = await step('watch_ticker', () => waitFor(() => ex.watchTicker(symbol), (t) => t.last > 0, 'watch_ticker'));
    check(ticker.last > 0 && ticker.high >= ticker.low && ticker.baseVolume > 0, 'watch_ticker (ccxt follows <symbol>@miniTicker)', ticker);
    const wtrades = await step('watch_trades', () => waitFor(() => ex.watchTrades(symbol), (t) => t.length > 0, 'watch_trades'));
    check(wtrades.at(-1).price > 0 && wtrades.at(-1).amount > 0, 'watch_trades', wtrades.at(-1));
    const wbook = await step('watch_order_book', () => waitFor(() => ex.watchOrderBook(symbol), (b) => b.bids.length > 0 && b.asks.length > 0, 'watch_order_book'));
    check(wbook.bids[0][0] <= wbook.asks[0][0], 'watch_order_book: bid at or below ask', { bid: wbook.bids[0], ask: wbook.asks[0] });

  } else {
    out.skipped = ['watch_ohlcv', 'watch_ticker', 'watch_trades', 'watch_order_book'];
  }

  watching = false;
  await ex.close();
  await watchLoop;
  out.totalMs = Math.round(performance.now() - t0);
  console.log(JSON.stringify(out));
} catch (e) {
  console.error(`ccxt proof failed at ${stepName}: ${e.constructor.name}: ${e.message}`);
  console.log(JSON.stringify(out));
  process.exit(1);
}
