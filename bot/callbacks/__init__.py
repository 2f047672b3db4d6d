"""Callback requests for the mediators: the desk (claim, resolve, cancel), queues and their file, the view, jobs."""
