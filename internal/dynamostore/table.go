package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
)

// CreateTable makes the named table as template.yaml declares it in AWS
// (on-demand capacity, string partition key PartitionKey and no sort key,
// TTL on TTLAttribute) unless it exists, and returns once it is ACTIVE:
// DynamoDB and dynalite both create tables asynchronously. It is for tests
// and the local stack; in AWS, CloudFormation owns the table. It fails if a
// table of that name exists with another key schema.
func CreateTable(ctx context.Context, c *dynamodb.Client, name string) error {
	desc, err := c.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: &name})
	var notFound *types.ResourceNotFoundException
	switch {
	case errors.As(err, &notFound):
		_, err = c.CreateTable(ctx, &dynamodb.CreateTableInput{
			TableName:            &name,
			BillingMode:          types.BillingModePayPerRequest,
			AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String(PartitionKey), AttributeType: types.ScalarAttributeTypeS}},
			KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String(PartitionKey), KeyType: types.KeyTypeHash}},
		})
		// ResourceInUse: another process created it since DescribeTable.
		var inUse *types.ResourceInUseException
		if err != nil && !errors.As(err, &inUse) {
			return fmt.Errorf("create table %s: %w", name, err)
		}
	case err != nil:
		return fmt.Errorf("describe table %s: %w", name, err)
	default:
		if ks := desc.Table.KeySchema; len(ks) != 1 || aws.ToString(ks[0].AttributeName) != PartitionKey || ks[0].KeyType != types.KeyTypeHash {
			return fmt.Errorf("table %s exists with another key schema (%s), want only the partition key %s", name, keySchema(ks), PartitionKey)
		}
	}
	// The waiter's default first delay is 20 s; dynalite, and on-demand
	// tables in AWS, are ACTIVE much sooner.
	err = dynamodb.NewTableExistsWaiter(c, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay, o.MaxDelay = 50*time.Millisecond, 2*time.Second
	}).Wait(ctx, &dynamodb.DescribeTableInput{TableName: &name}, 2*time.Minute)
	if err != nil {
		return fmt.Errorf("wait for table %s to be ACTIVE: %w", name, err)
	}
	return enableTTL(ctx, c, name)
}

// enableTTL turns on expiry by TTLAttribute unless it is on already:
// DynamoDB refuses UpdateTimeToLive while TTL is enabled or being enabled.
func enableTTL(ctx context.Context, c *dynamodb.Client, name string) error {
	d, err := c.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: &name})
	if err != nil {
		return fmt.Errorf("describe TTL of %s: %w", name, err)
	}
	if t := d.TimeToLiveDescription; t != nil && aws.ToString(t.AttributeName) == TTLAttribute &&
		(t.TimeToLiveStatus == types.TimeToLiveStatusEnabled || t.TimeToLiveStatus == types.TimeToLiveStatusEnabling) {
		return nil
	}
	_, err = c.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName:               &name,
		TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String(TTLAttribute), Enabled: aws.Bool(true)},
	})
	var api smithy.APIError
	if errors.As(err, &api) && api.ErrorCode() == "UnknownOperationException" {
		// dynalite does not implement UpdateTimeToLive (its
		// DescribeTimeToLive always answers DISABLED) and never deletes
		// expired items. Nothing depends on deletion: the store treats
		// expired items as absent on every read, as DynamoDB, which deletes
		// them days late, requires anyway.
		return nil
	}
	if err != nil {
		return fmt.Errorf("enable TTL on %s.%s: %w", name, TTLAttribute, err)
	}
	return nil
}

func keySchema(ks []types.KeySchemaElement) string {
	s := ""
	for i, k := range ks {
		if i > 0 {
			s += ", "
		}
		s += aws.ToString(k.AttributeName) + " " + string(k.KeyType)
	}
	return s
}
