"""The diversification planner: a two-stage stochastic LP over partners, domestic plants and stockpiles."""

from raremap.plan.loading import PlanError, builtin_names, load_plan, override_plan
from raremap.plan.spec import Plan

__all__ = ["Plan", "PlanError", "builtin_names", "load_plan", "override_plan"]
