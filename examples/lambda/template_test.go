package main

import (
	"os"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// node returns the value under the path of mapping keys, or nil.
func node(n *yaml.Node, path ...string) *yaml.Node {
	for _, k := range path {
		if n == nil {
			return nil
		}
		if n.Kind == yaml.DocumentNode {
			n = n.Content[0]
		}
		var next *yaml.Node
		for i := 0; n.Kind == yaml.MappingNode && i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == k {
				next = n.Content[i+1]
			}
		}
		n = next
	}
	return n
}

// scalars returns the scalar values of n: itself, or a sequence's items.
func scalars(n *yaml.Node) []string {
	if n == nil {
		return nil
	}
	if n.Kind == yaml.ScalarNode {
		return []string{n.Value}
	}
	var out []string
	for _, c := range n.Content {
		out = append(out, scalars(c)...)
	}
	return out
}

// TestTemplateMatchesCode checks template.yaml against the code: the
// handler and runtime of a provided.al2023 bootstrap binary, environment
// variables that the configuration table documents (and every required one
// set), the SQS event with partial batch responses, a visibility timeout
// longer than the function's timeout, and an IAM action for each AWS call
// the configured features make — and none the code never makes.
func TestTemplateMatchesCode(t *testing.T) {
	b, err := os.ReadFile("template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("template.yaml: %v", err)
	}
	fn := node(&doc, "Resources", "Function")
	if got := node(fn, "Type"); got == nil || got.Value != "AWS::Serverless::Function" {
		t.Fatalf("Resources.Function is not an AWS::Serverless::Function")
	}
	props := node(fn, "Properties")
	for k, want := range map[string]string{"Handler": "bootstrap", "Runtime": "provided.al2023"} {
		if got := scalars(node(props, k)); len(got) != 1 || got[0] != want {
			t.Errorf("Function %s = %q, want %q", k, got, want)
		}
	}

	documented := map[string]bool{}
	for _, v := range vars() {
		documented[v.Name] = true
	}
	envNode := node(props, "Environment", "Variables")
	set := map[string]bool{}
	for i := 0; envNode != nil && i+1 < len(envNode.Content); i += 2 {
		name := envNode.Content[i].Value
		set[name] = true
		if !documented[name] {
			t.Errorf("template sets %s, which the configuration table does not document", name)
		}
	}
	for _, v := range vars() {
		if v.Required && !set[v.Name] {
			t.Errorf("template does not set the required %s", v.Name)
		}
	}

	ev := node(props, "Events", "Objects")
	if got := node(ev, "Type"); got == nil || got.Value != "SQS" {
		t.Errorf("Function event Objects is not SQS")
	}
	if !slices.Contains(scalars(node(ev, "Properties", "FunctionResponseTypes")), "ReportBatchItemFailures") {
		t.Errorf("SQS event lacks FunctionResponseTypes: [ReportBatchItemFailures]; partial batch responses would be ignored")
	}
	timeout := node(&doc, "Globals", "Function", "Timeout")
	vis := node(&doc, "Resources", "Queue", "Properties", "VisibilityTimeout")
	if timeout == nil || vis == nil || atoi(vis.Value) < atoi(timeout.Value) {
		t.Errorf("queue VisibilityTimeout %v is not longer than the function Timeout %v", vis, timeout)
	}
	if node(&doc, "Resources", "Queue", "Properties", "RedrivePolicy", "deadLetterTargetArn") == nil {
		t.Errorf("queue has no dead-letter queue")
	}

	// The AWS calls the code makes, by the feature that makes them.
	calls := []struct {
		action  string
		needed  bool // by the template's configuration
		feature string
	}{
		{"s3:GetObject", true, "source.Reader reads the announced objects"},
		{"s3:PutObject", set["FLATPIPE_DEAD_LETTER"] || set["FLATPIPE_DESTINATION"], "dead letters and mode s3's staged files"},
		{"secretsmanager:GetSecretValue", set["FLATPIPE_PRIVATE_KEY_SECRET"], "lambdaenv.PrivateKey"},
		{"ssm:GetParameter", set["FLATPIPE_PRIVATE_KEY_PARAMETER"], "lambdaenv.PrivateKey"},
		{"events:PutEvents", set["FLATPIPE_NOTIFY_EVENT_BUS"], "the success notification"},
		{"sqs:SendMessage", set["FLATPIPE_NOTIFY_QUEUE_URL"], "the success notification"},
	}
	var granted []string
	for _, p := range node(props, "Policies").Content {
		for _, st := range node(p, "Statement").Content {
			granted = append(granted, scalars(node(st, "Action"))...)
		}
	}
	known := map[string]bool{"s3:GetObjectVersion": true} // GetObject with a version id
	for _, c := range calls {
		known[c.action] = true
		if c.needed && !slices.Contains(granted, c.action) {
			t.Errorf("template does not grant %s, needed by %s", c.action, c.feature)
		}
		if !c.needed && slices.Contains(granted, c.action) {
			t.Errorf("template grants %s, but nothing configured calls it (%s)", c.action, c.feature)
		}
	}
	for _, a := range granted {
		if !known[a] {
			t.Errorf("template grants %s, which the code never calls", a)
		}
	}
	if got := node(&doc, "Resources", "AlertsAlarm", "Properties", "MetricName"); got == nil || got.Value != "Alerts" {
		t.Errorf("no alarm on the Alerts metric (the alert hook)")
	}
}

func atoi(s string) int {
	n := 0
	for _, c := range strings.TrimSpace(s) {
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int(c-'0')
	}
	return n
}
