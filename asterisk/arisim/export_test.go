package arisim

// RoutePatterns lists every "METHOD /path" the router serves, for TestRoutesMatchSpec.
func (s *Server) RoutePatterns() []string { return s.router.patterns() }
