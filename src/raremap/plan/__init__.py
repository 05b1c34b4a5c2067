"""The diversification planner: a two-stage stochastic LP over partners, domestic plants and stockpiles."""

from raremap.plan.loading import PlanError, builtin_names, load_plan, override_plan
from raremap.plan.planner import PlanInfeasibleError, Planning, PlanRun, run_plan
from raremap.plan.spec import Plan

__all__ = [
    "Plan",
    "PlanError",
    "PlanInfeasibleError",
    "PlanRun",
    "Planning",
    "builtin_names",
    "load_plan",
    "override_plan",
    "run_plan",
]
