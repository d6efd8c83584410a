// Issue 10: a client generated from /api/schema/ (openapi-typescript + openapi-fetch) walks
// all three walkthrough scenarios and the journal. No casts anywhere: `as`, `any` and `!`
// are refused by tests/test_client_typescript.py before tsc runs.
import { randomUUID } from "node:crypto";
import createClient from "openapi-fetch";
import type { components, paths } from "./generated/api.js";

// One leg is an option leg or an equity leg (a discriminated union on `instrument`).
type Leg = components["schemas"]["Leg"];
type Strategy = components["schemas"]["StrategyTypeEnum"];

const baseUrl = process.env.API_BASE_URL ?? "http://127.0.0.1:8000";

function fail(message: string): never {
  throw new Error(message);
}

// SPEC O3: every creating POST carries a fresh Idempotency-Key, so a retry cannot write twice.
function idempotent(): { header: { "Idempotency-Key": string } } {
  return { header: { "Idempotency-Key": randomUUID() } };
}

function option(action: "buy" | "sell", right: "call" | "put", strike: string, expiry: string): Leg {
  return { action, instrument: "option", right, strike, expiry, quantity: 1 };
}

// Valid legs for each scenario's fixture chain (walkthrough/demo.py SAMPLE_LEGS).
const LEGS: Record<Strategy, Leg[]> = {
  iron_condor: [
    option("buy", "put", "5300", "2026-07-17"),
    option("sell", "put", "5350", "2026-07-17"),
    option("sell", "call", "5600", "2026-07-17"),
    option("buy", "call", "5650", "2026-07-17"),
  ],
  covered_call: [
    { action: "buy", instrument: "equity", right: null, strike: null, expiry: null, quantity: 100 },
    option("sell", "call", "105", "2026-07-24"),
  ],
  vertical_spread: [option("buy", "call", "480", "2026-07-17"), option("sell", "call", "490", "2026-07-17")],
};

type Door = components["schemas"]["DoorRequest"];

async function walkScenario(token: string, door: Door, expected: Strategy): Promise<void> {
  const client = createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${token}` } });
  const summary = await client.GET("/api/walkthrough/");
  if (!summary.data) fail(`summary: ${summary.response.status}`);

  const answered = await client.POST("/api/walkthrough/screen/1", { body: door });
  if (!answered.data) fail(`door: ${JSON.stringify(answered.error)}`);

  const intro = await client.GET("/api/walkthrough/screen/2");
  if (!intro.data) fail(`screen 2: ${intro.response.status}`);
  const strategy: Strategy = intro.data.strategy_type;
  if (strategy !== expected) fail(`served ${strategy}, expected ${expected}`);
  const moved = await client.POST("/api/walkthrough/screen/2");
  if (!moved.data) fail(`screen 2 continue: ${moved.response.status}`);

  const body = { strategy_type: strategy, legs: LEGS[strategy] };
  // builder_route is a plain string in the schema: compare it to the literal routes.
  const filled =
    intro.data.builder_route === "/api/walkthrough/screen/simple/1"
      ? await client.POST("/api/walkthrough/screen/simple/1", { params: idempotent(), body })
      : await client.POST("/api/walkthrough/screen/3", { params: idempotent(), body });
  if (!filled.data) fail(`builder: ${JSON.stringify(filled.error)}`);
  const legs: Leg[] = filled.data.legs;
  if (JSON.stringify(legs) !== JSON.stringify(LEGS[strategy])) fail("legs did not round-trip exactly");

  const review = await client.GET("/api/walkthrough/screen/4");
  if (!review.data) fail(`review: ${review.response.status}`);
  // SPEC W15: the review's economics, typed (null only for a trade from before fills were kept).
  const economics = review.data.review ?? fail("screen 4 has no review");
  const kind: "credit" | "debit" = economics.net.kind;
  const total: string = economics.net.total;
  const largestLoss: string | null = economics.max_loss;
  if (economics.fills.length !== LEGS[strategy].length) fail("one fill per leg");
  if (economics.breakevens.length === 0 || economics.payoff.length < 3) fail("review without breakevens or payoff");
  for (const point of economics.payoff) {
    if (Number.isNaN(Number(point.underlying)) || Number.isNaN(Number(point.pnl))) fail("payoff point is not decimal");
  }
  console.log(`${strategy}: net ${kind} ${total}, largest loss ${largestLoss ?? "unlimited"}`);
  const onward = await client.POST("/api/walkthrough/screen/4");
  if (!onward.data) fail(`screen 4 continue: ${onward.response.status}`);

  const survey = await client.GET("/api/walkthrough/screen/5");
  if (!survey.data) fail(`survey: ${survey.response.status}`);
  const answers: Record<string, string> = {};
  for (const question of survey.data.questions) {
    const first = question.choices[0];
    if (first === undefined) fail(`question ${question.id} has no choices`);
    answers[question.id] = first.value;
  }
  const submitted = await client.POST("/api/walkthrough/screen/5", { body: { answers } });
  if (!submitted.data) fail(`survey submit: ${JSON.stringify(submitted.error)}`);
  const done = await client.GET("/api/walkthrough/");
  if (!done.data) fail(`summary: ${done.response.status}`);
  const next: string | null = done.data.next_screen;
  if (!done.data.completed || next !== null) fail("a finished walkthrough must say it is complete");
}

async function walkJournal(key: string): Promise<void> {
  const client = createClient<paths>({ baseUrl, headers: { Authorization: `Token ${key}` } });
  const taxonomy = await client.GET("/api/sentiment-taxonomy/");
  if (!taxonomy.data) fail(`taxonomy: ${taxonomy.response.status}`);
  const current = taxonomy.data.versions.find((v) => v.version === taxonomy.data.current_version);
  const pre = current?.pre_labels[0]?.code ?? fail("no pre-trade label");
  const post = current?.post_labels[0]?.code ?? fail("no post-trade label");

  const ticket = {
    params: idempotent(),
    body: { symbol: "AAPL", strategy_type: "covered_call" as const, quantity: 1, legs: LEGS.covered_call },
  };
  const opened = await client.POST("/api/paper-orders/", ticket);
  if (!opened.data) fail(`ticket: ${JSON.stringify(opened.error)}`);
  const orderId: number = opened.data.id;
  // A retry with the same key replays the first answer: still one order.
  const retried = await client.POST("/api/paper-orders/", ticket);
  if (retried.data?.id !== orderId) fail(`a retried ticket made order ${retried.data?.id}`);
  if (retried.response.headers.get("Idempotent-Replayed") !== "true") fail("the retry was not a replay");

  const labelled = await client.POST("/api/sentiment-labels/", {
    params: idempotent(),
    body: { trade_id: orderId, pre_label: pre, journal_note: "Typed client note" },
  });
  if (!labelled.data) fail(`label: ${JSON.stringify(labelled.error)}`);
  const labelId: number = labelled.data.id;

  const closed = await client.POST("/api/paper-orders/{id}/close/", {
    params: { path: { id: orderId }, ...idempotent() },
    body: { realized_pnl: "-12.50" },
  });
  if (!closed.data) fail(`close: ${JSON.stringify(closed.error)}`);
  const pnl: string | null | undefined = closed.data.realized_pnl;
  if (pnl !== "-12.50") fail(`realized_pnl came back ${pnl}`);

  const patched = await client.PATCH("/api/sentiment-labels/{id}/", {
    params: { path: { id: labelId } },
    body: { post_label: post },
  });
  if (!patched.data) fail(`patch: ${JSON.stringify(patched.error)}`);

  const detail = await client.GET("/api/sentiment-labels/{id}/", { params: { path: { id: labelId } } });
  if (detail.data?.journal_note !== "Typed client note") fail("note did not round-trip");

  const filtered = await client.GET("/api/sentiment-labels/backtest-filter/", {
    params: { query: { pre_label: pre, strategy_type: "covered_call" } },
  });
  if (!filtered.data) fail(`backtest: ${filtered.response.status}`);
  if (filtered.data.summary.trades !== 1) fail("backtest summary");

  // SPEC J11: the statistics, typed down to each figure and its n.
  const figures = await client.GET("/api/sentiment-labels/stats/", { params: { query: { pre_label: pre } } });
  if (!figures.data) fail(`stats: ${figures.response.status}`);
  const counted: number = figures.data.basis.n;
  if (counted !== 1) fail(`stats counted ${counted} trades`);
  const group = figures.data.by_pre_label[0] ?? fail("no pre_label group");
  const largestLoss: string | null = group.realized_pnl.largest_loss;
  if (group.n !== 1 || group.losses !== 1 || largestLoss !== "-12.50") fail(`stats group ${JSON.stringify(group)}`);
  const transition = figures.data.transitions[0] ?? fail("no transition");
  if (transition.post_label !== post || transition.n !== 1) fail("stats transition");
  const day = figures.data.calendar[0] ?? fail("no calendar day");
  const daySum: string | null = day.realized_pnl.sum;
  if (daySum !== "-12.50") fail(`calendar sum ${daySum}`);

  // SPEC J12: the owner's export, JSON form, carries the note.
  const exported = await client.GET("/api/sentiment-labels/export/", { params: { query: { format: "json" } } });
  if (!exported.data || typeof exported.data === "string") fail(`export: ${exported.response.status}`);
  const exportedNotes: string[] = exported.data.labels.map((label) => label.journal_note);
  if (!exportedNotes.includes("Typed client note")) fail("the note is not in the export");
  if (!exported.data.orders.some((order) => order.id === orderId)) fail("the order is not in the export");

  const refused = await client.DELETE("/api/sentiment-labels/");
  if (!refused.data) fail(`delete journal: ${refused.response.status}`);
  const deleted: number = refused.data.deleted;
  if (deleted !== 1) fail(`deleted ${deleted}`);

  // Typed errors: a 400 body is the ValidationError component, keyed legs[i].field.
  const bad = await client.POST("/api/paper-orders/", {
    body: { symbol: "AAPL", strategy_type: "covered_call", quantity: 1, legs: [{ ...option("sell", "call", "-0", "2026-07-24") }] },
  });
  if (bad.data || !bad.error) fail("a bad strike was accepted");
  if (!("legs[0].strike" in bad.error)) fail(`unexpected error shape ${JSON.stringify(bad.error)}`);
}

async function main(): Promise<void> {
  const [income, shares, directional, key] = [
    process.env.TESTER_INCOME,
    process.env.TESTER_SHARES,
    process.env.TESTER_DIRECTIONAL,
    process.env.JOURNAL_KEY,
  ];
  if (!income || !shares || !directional || !key) fail("set TESTER_INCOME, TESTER_SHARES, TESTER_DIRECTIONAL, JOURNAL_KEY");
  await walkScenario(income, { answers: { goal: "income", holdings: "no_shares" } }, "iron_condor");
  await walkScenario(shares, { answers: { goal: "income", holdings: "shares" } }, "covered_call");
  await walkScenario(directional, { intent_bucket: "directional" }, "vertical_spread");
  await walkJournal(key);
  console.log("walked: iron_condor, covered_call, vertical_spread, journal");
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
