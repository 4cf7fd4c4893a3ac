"""The router: a faust-streaming app that turns registrations into work items (`hub worker`)."""
