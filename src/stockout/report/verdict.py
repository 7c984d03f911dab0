"""The plain-language verdict: what the numbers of summary.csv say, in sentences.

Every sentence comes from the paired difference to the baseline (``diff`` and its 95% CI): a
difference whose interval includes 0 is reported as "no significant difference". Functions return
plain text; the page escapes it.
"""

from __future__ import annotations

from dataclasses import dataclass

from stockout.report import fmt
from stockout.report.tables import ALL, ResultTables, value
from stockout.summary import t_interval

# Metrics where a smaller number is the better outcome.
LOWER_IS_BETTER = frozenset({
    "revenue_lost_stockout", "revenue_lost_cancelled", "revenue_pending", "cancellations",
    "lost_orders", "mean_wait_days", "p95_wait_days", "avg_backlog_units", "max_backlog_units",
    "avg_on_hand", "storage_cost", "ordering_cost", "purchase_cost", "handling_cost",
    "backlog_cost", "churned_customers", "churn_rate", "customer_cash_held",
})  # fmt: skip


@dataclass(frozen=True)
class Difference:
    """Paired difference of one metric, policy − baseline, with its 95% CI."""

    metric: str
    diff: float
    low: float
    high: float
    baseline_mean: float | None
    tested: bool = True  # False with one replication: no interval, no significance

    @property
    def significant(self) -> bool:
        return self.tested and (self.low > 0 or self.high < 0)

    @property
    def direction(self) -> int:
        """+1 if the policy is significantly higher, −1 if lower, 0 if not significant."""
        return 0 if not self.significant else (1 if self.diff > 0 else -1)

    @property
    def better(self) -> bool | None:
        """Whether the policy is significantly better (None: not significant)."""
        if not self.direction:
            return None
        return (self.direction < 0) == (self.metric in LOWER_IS_BETTER)


def difference(tables: ResultTables, policy: str, metric: str) -> Difference | None:
    """The paired difference, or None when there is none. Without an interval (one replication:
    summary.csv leaves its bounds empty) the difference is kept, untested."""
    d = value(tables, policy, metric, "diff")
    if d is None:
        return None
    lo = value(tables, policy, metric, "diff_ci_low")
    hi = value(tables, policy, metric, "diff_ci_high")
    tested = tables.has_intervals and lo is not None and hi is not None
    base = value(tables, tables.baseline, metric)
    return Difference(
        metric, float(d), float(d if lo is None else lo), float(d if hi is None else hi), base,
        tested=tested,
    )


def _more_less(x: float, more: str = "more", less: str = "less") -> str:
    return more if x > 0 else less


def revenue_clause(d: Difference, baseline: str) -> str:
    """ "keeps 11.0% more revenue than X (95% CI 9.0–13.0%)" or "no significant difference"."""
    base = d.baseline_mean
    if base:
        size = fmt.percent(abs(d.diff) / base)
        low, high = (fmt.percent(x / base, signed=True) for x in (d.low, d.high))
        ci = f"95% CI {low} to {high}"
    else:
        size = fmt.number(d.metric, abs(d.diff), 0)
        ci = f"95% CI {fmt.interval(d.metric, d.low, d.high, 0, signed=True)}"
    if not d.tested:
        if d.diff == 0:
            return f"keeps the same revenue as {baseline}"
        return f"keeps {size} {_more_less(d.diff)} revenue than {baseline}"
    if not d.significant:
        return (
            f"keeps the same revenue as {baseline} within noise: no significant difference ({ci})"
        )
    return f"keeps {size} {_more_less(d.diff)} revenue than {baseline} ({ci})"


def churn_clause(d: Difference) -> str:
    """Churn in percentage points (churn_rate) or customers (churned_customers)."""
    if d.metric == "churn_rate":
        size, unit = f"{abs(d.diff) * 100:.1f}", "points"
        ci = f"{d.low * 100:+.1f} to {d.high * 100:+.1f} points".replace("-", fmt.MINUS)
    else:
        decimals = fmt.decimals_for(d.metric, [d.diff])
        size, unit = fmt.number(d.metric, abs(d.diff), decimals), "customers"
        ci = fmt.interval(d.metric, d.low, d.high, decimals, signed=True) + " customers"
    what = "churn" if unit == "points" else "churned"
    if not d.tested:
        return f"{size} {unit} {_more_less(d.diff)} {what}"
    if not d.significant:
        return f"no significant difference in churn (95% CI {ci})"
    return f"{size} {unit} {_more_less(d.diff)} {what} (95% CI {ci})"


def _connector(revenue: Difference | None, churn: Difference) -> str:
    if not churn.significant:
        return "with"  # with one replication nothing is significant: plain "with"
    if revenue is not None and revenue.better is True and churn.better is False:
        return "at the cost of"
    if revenue is not None and revenue.better is False and churn.better is True:
        return "but with"
    return "with"


def policy_sentence(tables: ResultTables, policy: str) -> str:
    """One sentence comparing a policy with the baseline on revenue kept and churn."""
    baseline = tables.baseline
    revenue = difference(tables, policy, "revenue_kept")
    churn = difference(tables, policy, "churn_rate") or difference(
        tables, policy, "churned_customers"
    )
    parts = [policy]
    parts.append(
        revenue_clause(revenue, baseline)
        if revenue
        else f"has no revenue comparison with {baseline}"
    )
    if churn is None:
        return " ".join(parts) + "."
    return f"{' '.join(parts)}, {_connector(revenue, churn)} {churn_clause(churn)}."


def money_clause(tables: ResultTables, policy: str, metric: str) -> str | None:
    """ "storage cost 1,234 higher (95% CI +1,000 to +1,400)" or "... no significant difference"."""
    d = difference(tables, policy, metric)
    if d is None:
        return None
    name = fmt.label(metric).lower()
    decimals = fmt.decimals_for(metric, [d.diff, d.low, d.high, d.baseline_mean])
    ci = f"95% CI {fmt.interval(metric, d.low, d.high, decimals, signed=True)}"
    size = fmt.number(metric, abs(d.diff), decimals)
    if not d.tested:
        return f"{name} {size} {_more_less(d.diff, 'higher', 'lower')}"
    if not d.significant:
        return f"{name}: no significant difference ({ci})"
    return f"{name} {size} {_more_less(d.diff, 'higher', 'lower')} ({ci})"


def cost_sentence(tables: ResultTables, policy: str) -> str | None:
    clauses = [money_clause(tables, policy, m) for m in ("storage_cost", "gross_profit")]
    kept = [c for c in clauses if c]
    if not kept:
        return None
    text = "; ".join(kept)
    return text[0].upper() + text[1:] + "."


def best_policy(tables: ResultTables, metric: str) -> str | None:
    """The policy with the best mean of a metric (product ``all``), or None."""
    means = {p: value(tables, p, metric) for p in tables.policies}
    known = {p: m for p, m in means.items() if m is not None}
    if not known:
        return None
    pick = min if metric in LOWER_IS_BETTER else max
    return pick(known, key=lambda p: known[p])


def winner_sentence(tables: ResultTables, metric: str) -> str | None:
    """ "Most revenue kept: backorder (significantly more than out-of-stock)." and variants."""
    best = best_policy(tables, metric)
    if best is None:
        return None
    name = ("lowest " if metric in LOWER_IS_BETTER else "highest ") + fmt.label(metric).lower()
    name = name[0].upper() + name[1:]
    if len(tables.policies) < 2:  # "every other policy is worse" would be vacuously true
        return f"{name}: {best}, the only policy run (nothing to compare it with)."
    if not tables.has_intervals:
        return f"{name}: {best} (one replication: not tested for significance)."
    if best == tables.baseline:
        others = [difference(tables, p, metric) for p in tables.policies if p != best]
        sure = all(d is not None and d.better is False for d in others)
        tail = (
            "every other policy is significantly worse"
            if sure
            else ("but not significantly better than every other policy")
        )
        return f"{name}: {best} (the baseline); {tail}."
    d = difference(tables, best, metric)
    if d is not None and d.better:
        return f"{name}: {best}, significantly better than {tables.baseline}."
    return f"{name}: {best}, but not significantly different from {tables.baseline}."


def _paired_gap(tables: ResultTables, best: str, other: str, metric: str
                ) -> tuple[float, float, float] | None:  # fmt: skip
    """Mean and 95% t interval of ``best − other`` per replication (product ``all``), from
    replications.csv; None without it."""
    reps = tables.replications
    if reps.empty or metric not in reps.columns:
        return None
    rows = reps[(reps["product"] == ALL) & reps["policy"].isin([best, other])]
    wide = rows.pivot_table(index="replication", columns="policy", values=metric,
                            aggfunc="first", dropna=False)  # fmt: skip
    if best not in wide or other not in wide:
        return None
    gap = (wide[best] - wide[other]).dropna().to_numpy(dtype=float)
    return t_interval(gap) if gap.size else None


def runner_up_sentence(tables: ResultTables, metric: str) -> str | None:
    """ "Runner-up: preorder, 2.1% behind (95% CI of the lead +0.4% to +3.8%): a significant
    lead." The lead is best − runner-up per replication (paired), in the metric's better
    direction, relative to the best policy's mean."""
    means = {p: m for p in tables.policies if (m := value(tables, p, metric)) is not None}
    higher = metric not in LOWER_IS_BETTER
    known = sorted(means, key=lambda p: means[p], reverse=higher)
    if len(known) < 2:
        return None
    best, runner = known[0], known[1]
    if runner == tables.baseline:  # the winner's sentence already compares the two
        return None
    sign = 1.0 if higher else -1.0
    scale = abs(means[best])

    def size(x: float, signed: bool = False) -> str:
        if scale:
            return fmt.percent(x / scale, signed=signed)
        return fmt.number(metric, x, fmt.decimals_for(metric, [x]), signed=signed)

    head = f"Runner-up: {runner}, {size(sign * (means[best] - means[runner]))} behind"
    if not tables.has_intervals:
        return f"{head} (one replication: not tested)."
    gap = _paired_gap(tables, best, runner, metric)
    if gap is None:
        return head + "."
    low, high = sorted((sign * gap[1], sign * gap[2]))
    ci = f"95% CI of the lead {size(low, True)} to {size(high, True)}"
    if low > 0:
        return f"{head} ({ci}): a significant lead."
    return f"{head} ({ci}): not significant, either could be best."


@dataclass(frozen=True)
class Verdict:
    headline: list[str]
    details: list[str]
    caveats: list[str]


def build_verdict(tables: ResultTables) -> Verdict:
    """The verdict of a run: winners first, then each policy against the baseline."""
    headline = []
    for metric in ("revenue_kept", "gross_profit"):
        sentence = winner_sentence(tables, metric)
        if sentence:
            runner = runner_up_sentence(tables, metric)
            headline.append(f"{sentence} {runner}" if runner else sentence)
    details: list[str] = []
    for policy in tables.policies:
        if policy == tables.baseline:
            continue
        cost = cost_sentence(tables, policy)
        details.append(policy_sentence(tables, policy) + (f" {cost}" if cost else ""))
    caveats = []
    reps = int(tables.manifest.get("replications", 0) or 0)
    if reps == 1:
        caveats.append(
            "One replication only: no confidence intervals and no significance tests, so nothing "
            "here tells signal from noise; run more replications before trusting a difference."
        )
    return Verdict(headline, details, caveats)
