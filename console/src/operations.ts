import { graphql } from './gql';

// The console's whole use of keyhub: public operations of schema.graphql, nothing else.

export const KeyFieldsFragment = graphql(`
  fragment KeyFields on ApiKey {
    id
    name
    description
    region
    maskedKey
    status
    scope {
      mode
      models
      services
    }
    ipAllowlist
    createdAt
    updatedAt
    lastUsedAt
    expiresAt
    version
    limits {
      requestsPerMinute
      requestsPerDay
      tokensPerMinute
      tokensPerDay
      tokensPerMonth
    }
    metadata
  }
`);

export const KeysPageQuery = graphql(`
  query KeysPage($filter: ApiKeyFilter, $orderBy: ApiKeyOrder, $first: Int, $after: String) {
    apiKeys(filter: $filter, orderBy: $orderBy, first: $first, after: $after) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      nodes {
        ...KeyFields
      }
    }
    accountQuota {
      limit
      used
    }
  }
`);

export const ScopeCatalogQuery = graphql(`
  query ScopeCatalog {
    scopeCatalog {
      models
      services
    }
  }
`);

export const RegionsQuery = graphql(`
  query Regions {
    apiKeys(first: 100, orderBy: CREATED_AT_DESC) {
      nodes {
        id
        region
      }
    }
  }
`);

export const KeyQuery = graphql(`
  query Key($id: ID!) {
    apiKey(id: $id) {
      ...KeyFields
    }
  }
`);

export const CreateKeyMutation = graphql(`
  mutation CreateKey($input: CreateApiKeyInput!) {
    createApiKey(input: $input) {
      secret
      apiKey {
        ...KeyFields
      }
    }
  }
`);

export const RenameKeyMutation = graphql(`
  mutation RenameKey($id: ID!, $name: String!, $expectedVersion: Int) {
    renameApiKey(id: $id, name: $name, expectedVersion: $expectedVersion) {
      ...KeyFields
    }
  }
`);

export const DescribeKeyMutation = graphql(`
  mutation DescribeKey($id: ID!, $description: String, $expectedVersion: Int) {
    updateDescription(id: $id, description: $description, expectedVersion: $expectedVersion) {
      ...KeyFields
    }
  }
`);

export const UpdateScopeMutation = graphql(`
  mutation UpdateScope($id: ID!, $scope: AccessScopeInput!, $ipAllowlist: [String!], $expectedVersion: Int) {
    updateScope(id: $id, scope: $scope, ipAllowlist: $ipAllowlist, expectedVersion: $expectedVersion) {
      ...KeyFields
    }
  }
`);

export const UpdateLimitsMutation = graphql(`
  mutation UpdateLimits($id: ID!, $limits: KeyLimitsInput!, $expectedVersion: Int) {
    updateKeyLimits(id: $id, limits: $limits, expectedVersion: $expectedVersion) {
      ...KeyFields
    }
  }
`);

export const UpdateMetadataMutation = graphql(`
  mutation UpdateMetadata($id: ID!, $metadata: JSON, $expectedVersion: Int) {
    updateKeyMetadata(id: $id, metadata: $metadata, expectedVersion: $expectedVersion) {
      ...KeyFields
    }
  }
`);

export const SetStatusMutation = graphql(`
  mutation SetStatus($id: ID!, $status: ApiKeyStatus!, $expectedVersion: Int) {
    setKeyStatus(id: $id, status: $status, expectedVersion: $expectedVersion) {
      ...KeyFields
    }
  }
`);

export const RotateKeyMutation = graphql(`
  mutation RotateKey($id: ID!, $gracePeriodSeconds: Int!, $expectedVersion: Int) {
    rotateApiKey(id: $id, gracePeriodSeconds: $gracePeriodSeconds, expectedVersion: $expectedVersion) {
      secret
      previousSecretValidUntil
      apiKey {
        ...KeyFields
      }
    }
  }
`);

export const UpdateExpiryMutation = graphql(`
  mutation UpdateExpiry($id: ID!, $expiresAt: DateTime, $expectedVersion: Int) {
    updateExpiry(id: $id, expiresAt: $expiresAt, expectedVersion: $expectedVersion) {
      ...KeyFields
    }
  }
`);

export const DeleteKeyMutation = graphql(`
  mutation DeleteKey($id: ID!, $expectedVersion: Int) {
    deleteApiKey(id: $id, expectedVersion: $expectedVersion) {
      id
      deletedAt
    }
  }
`);

export const HistoryQuery = graphql(`
  query History($id: ID!) {
    apiKeyHistory(id: $id) {
      id
      type
      version
      occurredAt
      actor
      data
    }
  }
`);

export const VerifyHistoryQuery = graphql(`
  query VerifyHistory($id: ID!) {
    verifyHistory(id: $id) {
      intact
      eventCount
      firstBrokenVersion
      problem
      headLink
    }
  }
`);

export const KeyEventsSubscription = graphql(`
  subscription KeyEvents($after: String) {
    apiKeyEvents(after: $after) {
      cursor
      keyId
      type
      version
    }
  }
`);

export const UsageQuery = graphql(`
  query Usage($id: ID!, $from: DateTime!, $to: DateTime!, $granularity: UsageGranularity) {
    apiKeyUsage(id: $id, from: $from, to: $to, granularity: $granularity) {
      start
      requests
      denied
      promptTokens
      completionTokens
    }
  }
`);
