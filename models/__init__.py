"""Model files shipped with graphmrf; installed as ``graphmrf.model_files``.

Use :mod:`graphmrf.models` (``gm.models.path(name)``) to find them.
"""
