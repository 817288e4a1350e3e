#!/usr/bin/env python3
"""Synthetic TrainTicket-like microservice traces for TraceDAE (AnomalyDAE over trace graphs).

Python 3 standard library only; the output depends only on --seed (and the size flags).

The system: ~40 services named like TrainTicket's (ts-order-service, ts-travel-service, ...), nine entry
APIs on the gateway ts-ui-dashboard, each a call-tree template over the services. A template node is a
call (service, operation) with
  p       probability that the call happens at all (optional calls),
  rep     (lo, hi): the call is repeated a uniform number of times in [lo, hi],
  alt     alternative services, one picked per call (e.g. ts-order-service / ts-order-other-service,
          as TrainTicket routes by train type),
  par     the node's children run in parallel (else one after the other).
Latency: every (service, operation) has a log-normal own-work time (median 0.3-12 ms, sigma 0.2-0.5).
A span's duration = own work (split before / after its children) + its children (sequential: the sum,
with small network gaps; parallel: the longest). Children start inside their parent; times are in µs.
Status: 200, with rare benign 4xx (about 1% of traces, one span; error stays false).

Faults, only in the test split (~10% of test traces), the two kinds of the TraceDAE paper:
  response    one non-root call's own work is slowed by a factor 3-10; its ancestors get longer too.
  invocation  one of: a call that always happens is missing (its whole subtree), an extra call to a
              service the caller never calls, or a call re-routed to a wrong service (same operation name);
              about half of them carry 5xx status on the faulty call, propagated upward with prob 0.6/level.
root_cause_service: the slowed service; the missing callee; the unexpected callee; the intended callee.

Output (--out, default experiments/data/traces_tt_like/):
  train_spans.csv       normal traces only
  test_spans.csv        normal and faulty traces, shuffled
  test_labels.csv       trace_id,label,kind,root_cause_service  (kind: normal / response / invocation)
  test_spans_jaeger.json  the first --jaeger-traces test traces in Jaeger's JSON export format
Span CSV columns: trace_id,span_id,parent_span_id,service,operation,start_time_us,duration_us,status_code
(the root's parent_span_id is empty). Spans of a trace are contiguous but in shuffled order, as in a real
export; readers must rebuild the tree from parent ids.
"""
import argparse
import json
import math
import os
import random
import sys

SERVICES = [
    "ts-ui-dashboard", "ts-auth-service", "ts-user-service", "ts-verification-code-service",
    "ts-station-service", "ts-train-service", "ts-route-service", "ts-travel-service", "ts-travel2-service",
    "ts-basic-service", "ts-ticketinfo-service", "ts-price-service", "ts-config-service", "ts-seat-service",
    "ts-order-service", "ts-order-other-service", "ts-preserve-service", "ts-preserve-other-service",
    "ts-security-service", "ts-contacts-service", "ts-assurance-service", "ts-food-service",
    "ts-food-map-service", "ts-consign-service", "ts-consign-price-service", "ts-inside-payment-service",
    "ts-payment-service", "ts-cancel-service", "ts-rebook-service", "ts-execute-service",
    "ts-notification-service", "ts-route-plan-service", "ts-travel-plan-service", "ts-admin-basic-info-service",
    "ts-admin-order-service", "ts-admin-route-service", "ts-admin-travel-service", "ts-admin-user-service",
    "ts-news-service", "ts-voucher-service", "ts-ticket-office-service", "ts-delivery-service",
]
ORDER_ALT = ["ts-order-service", "ts-order-other-service"]
TRAVEL_ALT = ["ts-travel-service", "ts-travel2-service"]
PRESERVE_ALT = ["ts-preserve-service", "ts-preserve-other-service"]


def C(service, op, *children, p=1.0, rep=(1, 1), alt=None, par=False):
    return {"service": service, "op": op, "children": list(children), "p": p, "rep": rep,
            "alt": alt, "par": par}


def basic_query():
    return C("ts-basic-service", "queryForTravel",
             C("ts-station-service", "queryForIdBatch"),
             C("ts-train-service", "retrieveByName"),
             C("ts-route-service", "queryById", p=0.7),
             C("ts-price-service", "findByRouteAndTrain"), par=True)


APIS = {  # name -> (weight, template)
    "login": (0.14, C("ts-ui-dashboard", "login",
                      C("ts-auth-service", "login",
                        C("ts-verification-code-service", "verifyCode", p=0.9),
                        C("ts-user-service", "findByUserName")))),
    "searchTickets": (0.26, C("ts-ui-dashboard", "searchTickets",
                              C("ts-travel-service", "queryInfo",
                                C("ts-ticketinfo-service", "queryForTravel", basic_query(), rep=(1, 2)),
                                C("ts-seat-service", "getLeftTicketOfInterval",
                                  C("ts-config-service", "queryByName"),
                                  C("ts-order-service", "getSoldTickets", p=0.8)), par=True),
                              C("ts-travel2-service", "queryInfo",
                                C("ts-seat-service", "getLeftTicketOfInterval",
                                  C("ts-order-other-service", "getSoldTickets")), p=0.4),
                              par=True)),
    "preserve": (0.12, C("ts-ui-dashboard", "preserve",
                         C("ts-preserve-service", "preserve",
                           C("ts-security-service", "check",
                             C("ts-order-service", "checkSecurityAboutOrder"),
                             C("ts-order-other-service", "checkSecurityAboutOrder"), par=True),
                           C("ts-contacts-service", "getContactsById"),
                           C("ts-travel-service", "getTripAllDetailInfo",
                             C("ts-ticketinfo-service", "queryForTravel", basic_query())),
                           C("ts-order-service", "create",
                             C("ts-assurance-service", "createAssurance", p=0.5),
                             C("ts-food-service", "createFoodOrder", p=0.35),
                             C("ts-notification-service", "preserveSuccess", p=0.8)),
                           alt=PRESERVE_ALT))),
    "pay": (0.1, C("ts-ui-dashboard", "pay",
                   C("ts-inside-payment-service", "pay",
                     C("ts-order-service", "getById", alt=ORDER_ALT),
                     C("ts-payment-service", "pay", p=0.6),
                     C("ts-order-service", "modifyOrderStatus", alt=ORDER_ALT)))),
    "cancel": (0.06, C("ts-ui-dashboard", "cancelTicket",
                       C("ts-cancel-service", "cancelTicket",
                         C("ts-order-service", "getById", alt=ORDER_ALT),
                         C("ts-inside-payment-service", "drawBack"),
                         C("ts-order-service", "cancelOrder", alt=ORDER_ALT),
                         C("ts-notification-service", "orderCancelSuccess", p=0.8)))),
    "queryOrders": (0.16, C("ts-ui-dashboard", "queryOrders",
                            C("ts-order-service", "queryOrdersForRefresh",
                              C("ts-station-service", "queryNamesByIds")),
                            C("ts-order-other-service", "queryOrdersForRefresh",
                              C("ts-station-service", "queryNamesByIds"), p=0.7),
                            par=True)),
    "rebook": (0.05, C("ts-ui-dashboard", "rebook",
                       C("ts-rebook-service", "rebook",
                         C("ts-order-service", "getById", alt=ORDER_ALT),
                         C("ts-travel-service", "getTripAllDetailInfo",
                           C("ts-ticketinfo-service", "queryForTravel", basic_query()),
                           C("ts-seat-service", "getLeftTicketOfInterval",
                             C("ts-config-service", "queryByName")), alt=TRAVEL_ALT),
                         C("ts-inside-payment-service", "payDifference", p=0.5),
                         C("ts-order-service", "updateOrder", alt=ORDER_ALT)))),
    "consign": (0.05, C("ts-ui-dashboard", "consign",
                        C("ts-order-service", "getById", alt=ORDER_ALT),
                        C("ts-consign-service", "updateConsign",
                          C("ts-consign-price-service", "getPriceByWeightAndRegion"),
                          C("ts-delivery-service", "createDelivery", p=0.5)))),
    "getFood": (0.06, C("ts-ui-dashboard", "getFood",
                        C("ts-food-service", "getAllFood",
                          C("ts-travel-service", "getRouteByTripId",
                            C("ts-route-service", "queryById")),
                          C("ts-station-service", "queryForId", rep=(2, 2)),
                          C("ts-food-map-service", "getFoodStoresByStationIds")))),
}


class Gen:
    def __init__(self, seed):
        self.rng = random.Random(seed)
        # Per (service, operation) latency parameters, drawn lazily from a separate stream keyed by name,
        # so adding a template does not change the others.
        self.lat = {}

    def lat_params(self, service, op):
        key = (service, op)
        if key not in self.lat:
            r = random.Random(f"lat|{service}|{op}")
            median_us = math.exp(r.uniform(math.log(300.0), math.log(12000.0)))
            self.lat[key] = (math.log(median_us), r.uniform(0.2, 0.5))
        return self.lat[key]

    def hex_id(self, n):
        return "".join(self.rng.choice("0123456789abcdef") for _ in range(n))

    # ---- structure ----
    def instantiate(self, t):
        """One call node (dict) per call, or a list of them for repeats; [] when an optional call is skipped."""
        out = []
        if self.rng.random() >= t["p"]:
            return out
        lo, hi = t["rep"]
        for _ in range(self.rng.randint(lo, hi)):
            service = self.rng.choice(t["alt"]) if t["alt"] else t["service"]
            node = {"service": service, "op": t["op"], "par": t["par"], "children": [], "status": 200,
                    "slow": 1.0, "tmpl": t, "required": t["p"] >= 1.0}
            for ct in t["children"]:
                node["children"].extend(self.instantiate(ct))
            out.append(node)
        return out

    # ---- timing ----
    def assign_times(self, node, start):
        mu, sigma = self.lat_params(node["service"], node["op"])
        own = self.rng.lognormvariate(mu, sigma) * node["slow"]
        pre = own * self.rng.uniform(0.2, 0.4)
        t = start + pre
        end_children = t
        for ch in node["children"]:
            gap = self.rng.uniform(30.0, 250.0)
            cs = t + gap
            ce = self.assign_times(ch, cs)
            end_children = max(end_children, ce)
            if not node["par"]:
                t = ce
        end = end_children + (own - pre)
        node["start"], node["end"] = start, end
        return end


def walk(node, parent=None, depth=0):
    yield node, parent, depth
    for ch in node["children"]:
        yield from walk(ch, node, depth + 1)


def propagate_error(rng, node_parent, node, prob=0.6):
    code = rng.choice([500, 500, 502, 503])
    node["status"] = code
    cur = node
    while node_parent.get(id(cur)) is not None and rng.random() < prob:
        cur = node_parent[id(cur)]
        cur["status"] = 500


def inject(g, root, kind):
    """Modifies the call tree; returns (sub-kind, root-cause service) or None when not applicable."""
    rng = g.rng
    items = list(walk(root))
    parent_of = {id(n): p for n, p, _ in items}
    nonroot = [(n, p, d) for n, p, d in items if p is not None]
    if kind == "response":
        n, _, _ = rng.choice(nonroot)
        n["slow"] = rng.uniform(3.0, 10.0)
        return "slow", n["service"]
    sub = rng.choice(["missing", "extra", "reroute"])
    if sub == "missing":
        cands = [(n, p) for n, p, _ in nonroot if n["required"]]
        if not cands:
            sub = "extra"
        else:
            n, p = rng.choice(cands)
            p["children"].remove(n)
            if rng.random() < 0.5:
                propagate_error(rng, parent_of, p)
            return sub, n["service"]
    if sub == "extra":
        p, _, _ = rng.choice(items)
        normal_callees = {c["service"] for c in p["tmpl"]["children"]} | {p["service"]}
        for c in p["tmpl"]["children"]:
            normal_callees |= set(c["alt"] or [])
        svc = rng.choice([s for s in SERVICES[1:] if s not in normal_callees])
        op = rng.choice(["query", "getAll", "findById", "update", "check"])
        extra = {"service": svc, "op": op, "par": False, "children": [], "status": 200, "slow": 1.0,
                 "tmpl": {"children": []}, "required": True}
        p["children"].insert(rng.randint(0, len(p["children"])), extra)
        parent_of[id(extra)] = p
        if rng.random() < 0.5:
            propagate_error(rng, parent_of, extra)
        return sub, svc
    # reroute: same operation, wrong service (never one of the call's alternatives)
    n, _, _ = rng.choice(nonroot)
    allowed = set(n["tmpl"]["alt"] or []) | {n["tmpl"]["service"]}
    intended = n["service"]
    n["service"] = rng.choice([s for s in SERVICES[1:] if s not in allowed])
    if rng.random() < 0.5:
        propagate_error(rng, parent_of, n)
    return sub, intended


def make_trace(g, t0, fault=None):
    rng = g.rng
    names = list(APIS)
    api = rng.choices(names, weights=[APIS[a][0] for a in names])[0]
    root = g.instantiate(APIS[api][1])[0]
    info = None
    if fault:
        info = inject(g, root, fault)
    elif rng.random() < 0.01:  # benign client error on one span
        n, _, _ = rng.choice(list(walk(root)))
        n["status"] = rng.choice([400, 401, 404])
    g.assign_times(root, float(t0))
    trace_id = g.hex_id(12)
    spans = []
    ids = {}
    for n, p, _ in walk(root):
        sid = g.hex_id(8)
        while sid in ids.values():
            sid = g.hex_id(8)
        ids[id(n)] = sid
        spans.append({"trace_id": trace_id, "span_id": sid, "parent_span_id": ids[id(p)] if p else "",
                      "service": n["service"], "operation": n["op"], "start_time_us": int(round(n["start"])),
                      "duration_us": max(1, int(round(n["end"] - n["start"]))), "status_code": n["status"]})
    rng.shuffle(spans)
    return trace_id, api, spans, info


COLUMNS = ["trace_id", "span_id", "parent_span_id", "service", "operation", "start_time_us", "duration_us",
           "status_code"]


def write_spans(path, traces):
    with open(path + ".tmp", "w", newline="") as f:
        f.write(",".join(COLUMNS) + "\n")
        for _, _, spans, _ in traces:
            for s in spans:
                f.write(",".join(str(s[c]) for c in COLUMNS) + "\n")
    os.replace(path + ".tmp", path)


def jaeger_trace(trace_id, spans):
    procs, out = {}, []
    for s in spans:
        if s["service"] not in procs:
            procs[s["service"]] = f"p{len(procs) + 1}"
        tags = [{"key": "http.status_code", "type": "int64", "value": s["status_code"]}]
        if s["status_code"] >= 500:
            tags.append({"key": "error", "type": "bool", "value": True})
        refs = []
        if s["parent_span_id"]:
            refs.append({"refType": "CHILD_OF", "traceID": trace_id, "spanID": s["parent_span_id"]})
        out.append({"traceID": trace_id, "spanID": s["span_id"], "operationName": s["operation"],
                    "references": refs, "startTime": s["start_time_us"], "duration": s["duration_us"],
                    "tags": tags, "logs": [], "processID": procs[s["service"]], "warnings": None})
    return {"traceID": trace_id, "spans": out,
            "processes": {pid: {"serviceName": svc, "tags": []} for svc, pid in procs.items()},
            "warnings": None}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="experiments/data/traces_tt_like")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--train-traces", type=int, default=2000)
    ap.add_argument("--test-traces", type=int, default=1000)
    ap.add_argument("--anomaly-rate", type=float, default=0.1)
    ap.add_argument("--jaeger-traces", type=int, default=50)
    a = ap.parse_args()
    g = Gen(a.seed)
    t = 1_700_000_000_000_000  # µs since the epoch
    train = []
    for _ in range(a.train_traces):
        t += int(g.rng.expovariate(1.0 / 400_000))
        train.append(make_trace(g, t))
    n_bad = int(round(a.test_traces * a.anomaly_rate))
    kinds = ["response" if i < n_bad // 2 else "invocation" for i in range(n_bad)]
    kinds += [None] * (a.test_traces - n_bad)
    g.rng.shuffle(kinds)
    test = []
    for k in kinds:
        t += int(g.rng.expovariate(1.0 / 400_000))
        test.append(make_trace(g, t, k))

    os.makedirs(a.out, exist_ok=True)
    write_spans(os.path.join(a.out, "train_spans.csv"), train)
    write_spans(os.path.join(a.out, "test_spans.csv"), test)
    lab = os.path.join(a.out, "test_labels.csv")
    with open(lab + ".tmp", "w", newline="") as f:
        f.write("trace_id,label,kind,root_cause_service\n")
        for (tid, _, _, info), k in zip(test, kinds):
            f.write(f"{tid},{1 if k else 0},{k or 'normal'},{info[1] if info else ''}\n")
    os.replace(lab + ".tmp", lab)
    js = os.path.join(a.out, "test_spans_jaeger.json")
    doc = {"data": [jaeger_trace(tid, spans) for tid, _, spans, _ in test[:a.jaeger_traces]],
           "total": 0, "limit": 0, "offset": 0, "errors": None}
    with open(js + ".tmp", "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")
    os.replace(js + ".tmp", js)

    subs = {}
    for _, _, _, info in test:
        if info:
            subs[info[0]] = subs.get(info[0], 0) + 1
    n_spans = lambda ts: sum(len(s) for _, _, s, _ in ts)
    services = {s["service"] for ts in (train, test) for _, _, sp, _ in ts for s in sp}
    ops = {(s["service"], s["operation"]) for _, _, sp, _ in train for s in sp}
    print(f"traces: train {len(train)} ({n_spans(train)} spans), test {len(test)} ({n_spans(test)} spans), "
          f"jaeger {min(a.jaeger_traces, len(test))}; anomalies: response {kinds.count('response')}, "
          f"invocation {kinds.count('invocation')} (" +
          ", ".join(f"{k} {v}" for k, v in sorted(subs.items())) +
          f"); services seen {len(services)}, train operations {len(ops)}")


if __name__ == "__main__":
    sys.exit(main())
