"""The read side: history and state views, the PREMIS export, the HTTP query API and the local WSGI
server."""
