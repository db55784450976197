"""Redraw (重新划分网格): the planners' drafting table for a village's, town's or county's grids.

A plan moves **blocks** (`blocks`): pieces of a village between its roads, the current grid
lines and the gaps between settlements, cut once per generation. **Balance** (`balance`)
partitions each village's block graph into contiguous grids inside a household band and makes
them compact; **minimal change** (`minimal`) fixes only the grids out of band, moving as few
households as possible (exact, CP-SAT). A **plan** (`plans`) is a draft stored in the database
and computed in the background; **edits** (`edits`) split, merge and move blocks with the rules
re-checked; the **impact** (`impact`) previews what publishing would change; **publish**
(`publish`) writes a new generation through the boundaries commit path and its checks.

Public functions:
- `plans.create_plan`, `plans.run_plan`, `plans.get_plan`, `plans.list_plans`,
  `plans.discard_plan`, `plans.plan_blocks`
- `edits.edit_plan`
- `impact.plan_impact`
- `publish.publish_plan`
- `blocks.village_blocks`, `blocks.cut_village`
- `balance.balance_village`, `balance.partition`, `balance.choose_k`, `balance.Band`
- `minimal.minimal_change`
"""

from gisgrid.redraw import balance, blocks, edits, impact, minimal, plans, publish
from gisgrid.redraw.plans import PlanRunner

__all__ = [
    "PlanRunner",
    "balance",
    "blocks",
    "edits",
    "impact",
    "minimal",
    "plans",
    "publish",
]
