package exporter

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go"
)

// SQS is the part of the Amazon SQS API the exporter calls. *sqs.Client
// implements it; unit tests use a fake.
type SQS interface {
	GetQueueAttributes(ctx context.Context, in *sqs.GetQueueAttributesInput, optFns ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error)
	GetQueueUrl(ctx context.Context, in *sqs.GetQueueUrlInput, optFns ...func(*sqs.Options)) (*sqs.GetQueueUrlOutput, error)
	ListQueues(ctx context.Context, in *sqs.ListQueuesInput, optFns ...func(*sqs.Options)) (*sqs.ListQueuesOutput, error)
}

var _ SQS = (*sqs.Client)(nil)

// ClientOptions says how to reach SQS.
type ClientOptions struct {
	// Region overrides the region of the default configuration chain
	// (AWS_REGION, the shared config file) when not empty.
	Region string
	// EndpointURL overrides the SQS endpoint (an emulator, a VPC endpoint)
	// when not empty.
	EndpointURL string
	// MaxConnsPerHost is how many idle connections to SQS are kept open; it
	// should be at least the refresh concurrency so connections are reused
	// rather than opened for every call.
	MaxConnsPerHost int
}

// NewClient builds an SQS client from the AWS SDK's default configuration
// chain: credentials from the environment, the shared config and credentials
// files, web identity (IRSA), EKS Pod Identity or instance metadata, and the
// SDK's standard retryer (throttling and transient errors are retried with
// backoff).
func NewClient(ctx context.Context, opts ClientOptions) (*sqs.Client, error) {
	httpClient := awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
		if opts.MaxConnsPerHost > tr.MaxIdleConnsPerHost {
			tr.MaxIdleConnsPerHost = opts.MaxConnsPerHost
		}
		if opts.MaxConnsPerHost > tr.MaxIdleConns {
			tr.MaxIdleConns = opts.MaxConnsPerHost
		}
	})
	loadOpts := []func(*config.LoadOptions) error{config.WithHTTPClient(httpClient)}
	if opts.Region != "" {
		loadOpts = append(loadOpts, config.WithRegion(opts.Region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, loadOpts...)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		return nil, errors.New("no AWS region: set --region, AWS_REGION or a region in the shared config file")
	}
	return sqs.NewFromConfig(cfg, func(o *sqs.Options) {
		if opts.EndpointURL != "" {
			o.BaseEndpoint = aws.String(opts.EndpointURL)
		}
	}), nil
}

// The SQS operations the exporter makes, indexes into operationNames.
const (
	opGetQueueAttributes = iota
	opGetQueueURL
	opListQueues
	numOperations
)

// operationNames are the values of the sqs_exporter_requests_total
// operation label.
var operationNames = [numOperations]string{"GetQueueAttributes", "GetQueueUrl", "ListQueues"}

// requestCounts counts SQS calls by operation and outcome. A call the SDK
// retried counts once, with its final outcome.
type requestCounts struct {
	success, failure [numOperations]atomic.Uint64
}

func (c *requestCounts) add(op int, err error) {
	if err != nil {
		c.failure[op].Add(1)
	} else {
		c.success[op].Add(1)
	}
}

// countingSQS counts every call made through it.
type countingSQS struct {
	next   SQS
	counts *requestCounts
}

var _ SQS = countingSQS{}

func (c countingSQS) GetQueueAttributes(ctx context.Context, in *sqs.GetQueueAttributesInput, optFns ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error) {
	out, err := c.next.GetQueueAttributes(ctx, in, optFns...)
	c.counts.add(opGetQueueAttributes, err)
	return out, err
}

func (c countingSQS) GetQueueUrl(ctx context.Context, in *sqs.GetQueueUrlInput, optFns ...func(*sqs.Options)) (*sqs.GetQueueUrlOutput, error) {
	out, err := c.next.GetQueueUrl(ctx, in, optFns...)
	c.counts.add(opGetQueueURL, err)
	return out, err
}

func (c countingSQS) ListQueues(ctx context.Context, in *sqs.ListQueuesInput, optFns ...func(*sqs.Options)) (*sqs.ListQueuesOutput, error) {
	out, err := c.next.ListQueues(ctx, in, optFns...)
	c.counts.add(opListQueues, err)
	return out, err
}

// errorCode is the AWS error code of err (AccessDenied, QueueDoesNotExist,
// RequestThrottled, ...), or "" when err did not come from the service.
func errorCode(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return ""
}
