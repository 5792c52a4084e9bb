"""How people reach Xingpei: the command line, the HTTP API and the web pages."""
