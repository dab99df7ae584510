"""The fitted models as the pipeline uses them: the configured model fitted on a panel
(:mod:`~regime.models.api`), the hold-out comparison of model kinds
(:mod:`~regime.models.compare`) and model folders on disk (:mod:`~regime.models.io`).

:mod:`regime.bayes` holds the models themselves and knows nothing of panels, configs
or folders; this package connects them.
"""
