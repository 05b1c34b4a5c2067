"""Back-tests: historical episodes replayed by the engine and scored against what was observed.

``run_backtests()`` replays every bundled episode (``raremap/backtest/episodes/*.yaml``) with
``raremap.simulate.simulate`` and returns, per observed outcome, the observed figure, the model's,
the difference, the tolerance and pass or fail. See docs/backtests.md.
"""

from raremap.backtest.loading import EpisodeError, cited_sources, episode_names, load_episode, load_episodes
from raremap.backtest.run import EpisodeResult, OutcomeScore, run_backtests, run_episode, scores_frame
from raremap.backtest.spec import Episode, Outcome

__all__ = [
    "Episode",
    "EpisodeError",
    "EpisodeResult",
    "Outcome",
    "OutcomeScore",
    "cited_sources",
    "episode_names",
    "load_episode",
    "load_episodes",
    "run_backtests",
    "run_episode",
    "scores_frame",
]
