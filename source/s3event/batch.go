package s3event

import "github.com/aws/aws-lambda-go/events"

// SQSBatchItemFailures turns failed message ids into a partial batch
// response; duplicates are removed and the order is kept.
func SQSBatchItemFailures(ids ...string) events.SQSEventResponse {
	var resp events.SQSEventResponse
	seen := map[string]bool{}
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: id})
		}
	}
	return resp
}
