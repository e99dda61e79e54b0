package cases

func extraIPBlock() []scenario   { return nil }
func extraPorts() []scenario     { return nil }
func extraTypes() []scenario     { return nil }
func extraLifecycle() []scenario { return nil }
func extraSelectors() []scenario { return nil }
