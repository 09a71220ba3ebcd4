package bedrocktest

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
)

const novaModel = "amazon.nova-lite-v1:0"

func imageBytes(format types.ImageFormat, n int) types.ContentBlock {
	return &types.ContentBlockMemberImage{Value: types.ImageBlock{Format: format,
		Source: &types.ImageSourceMemberBytes{Value: bytes.Repeat([]byte{0x89}, n)}}}
}

func imageS3(uri, owner string) types.ContentBlock {
	loc := types.S3Location{Uri: aws.String(uri)}
	if owner != "" {
		loc.BucketOwner = aws.String(owner)
	}
	return &types.ContentBlockMemberImage{Value: types.ImageBlock{Format: types.ImageFormatPng,
		Source: &types.ImageSourceMemberS3Location{Value: loc}}}
}

func docBytes(format types.DocumentFormat, name string, content []byte) types.ContentBlock {
	return &types.ContentBlockMemberDocument{Value: types.DocumentBlock{Format: format, Name: aws.String(name),
		Source: &types.DocumentSourceMemberBytes{Value: content}}}
}

func docText(format types.DocumentFormat, name, text string) types.ContentBlock {
	return &types.ContentBlockMemberDocument{Value: types.DocumentBlock{Format: format, Name: aws.String(name),
		Source: &types.DocumentSourceMemberText{Value: text}}}
}

func docS3(format types.DocumentFormat, name, uri string) types.ContentBlock {
	return &types.ContentBlockMemberDocument{Value: types.DocumentBlock{Format: format, Name: aws.String(name),
		Source: &types.DocumentSourceMemberS3Location{Value: types.S3Location{Uri: aws.String(uri)}}}}
}

func text(s string) types.ContentBlock { return &types.ContentBlockMemberText{Value: s} }

func userBlocks(blocks ...types.ContentBlock) []types.Message {
	return []types.Message{{Role: types.ConversationRoleUser, Content: blocks}}
}

func TestMedia(t *testing.T) {
	tests := []struct {
		name       string
		model      string
		blocks     []types.ContentBlock
		wantImages []ObservedMedia
		wantDocs   []ObservedMedia
		wantInput  int64
	}{
		{
			name:       "png bytes",
			blocks:     []types.ContentBlock{text("describe this"), imageBytes(types.ImageFormatPng, 2500)},
			wantImages: []ObservedMedia{{Block: 1, Format: "png", Bytes: 2500}},
			wantInput:  2 + 85 + 3,
		},
		{
			name:       "jpeg at the size limit",
			blocks:     []types.ContentBlock{imageBytes(types.ImageFormatJpeg, MaxImageBytes), text("what is it")},
			wantImages: []ObservedMedia{{Block: 0, Format: "jpeg", Bytes: MaxImageBytes}},
			wantInput:  85 + 3933 + 3,
		},
		{
			name:      "pdf counts bytes/4",
			blocks:    []types.ContentBlock{docBytes(types.DocumentFormatPdf, "Quarterly report (Q3) [draft]", make([]byte, 1001)), text("summarise")},
			wantDocs:  []ObservedMedia{{Block: 0, Format: "pdf", Name: "Quarterly report (Q3) [draft]", Bytes: 1001}},
			wantInput: 251 + 1,
		},
		{
			name:      "txt bytes count words",
			blocks:    []types.ContentBlock{docBytes(types.DocumentFormatTxt, "notes", []byte("one two\nthree")), text("read it")},
			wantDocs:  []ObservedMedia{{Block: 0, Format: "txt", Name: "notes", Bytes: 13}},
			wantInput: 3 + 2,
		},
		{
			name:      "md source text counts words",
			blocks:    []types.ContentBlock{docText(types.DocumentFormatMd, "readme", "# Title\nsome words here"), text("read it")},
			wantDocs:  []ObservedMedia{{Block: 0, Format: "md", Name: "readme", Bytes: 23}},
			wantInput: 5 + 2,
		},
		{
			name:       "s3 image on a model that reads S3",
			model:      novaModel,
			blocks:     []types.ContentBlock{imageS3("s3://bucket/cat.png", "123456789012"), text("what animal")},
			wantImages: []ObservedMedia{{Block: 0, Format: "png", S3URI: "s3://bucket/cat.png", S3BucketOwner: "123456789012"}},
			wantInput:  85 + 4 + 2,
		},
		{
			name:      "s3 document through an inference profile of a listed model",
			model:     "us." + novaModel,
			blocks:    []types.ContentBlock{docS3(types.DocumentFormatTxt, "log", "s3://bucket/log.txt"), text("errors?")},
			wantDocs:  []ObservedMedia{{Block: 0, Format: "txt", Name: "log", S3URI: "s3://bucket/log.txt"}},
			wantInput: S3MediaBytes/4 + 1,
		},
	}
	var obs observer
	_, client := newServer(t, Options{Observe: obs.observe, S3LocationModels: []string{novaModel}})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			model := tt.model
			if model == "" {
				model = testModel
			}
			msgs := userBlocks(tt.blocks...)
			out, err := client.Converse(testCtx(t), &bedrockruntime.ConverseInput{ModelId: aws.String(model), Messages: msgs})
			if err != nil {
				t.Fatal(err)
			}
			if got := aws.ToInt32(out.Usage.InputTokens); int64(got) != tt.wantInput {
				t.Errorf("inputTokens = %d, want %d", got, tt.wantInput)
			}
			got := obs.last(t).Messages[0]
			if !reflect.DeepEqual(got.Images, tt.wantImages) || !reflect.DeepEqual(got.Documents, tt.wantDocs) {
				t.Errorf("observed images %+v documents %+v\nwant            %+v documents %+v", got.Images, got.Documents, tt.wantImages, tt.wantDocs)
			}
			count, err := client.CountTokens(testCtx(t), &bedrockruntime.CountTokensInput{ModelId: aws.String(model),
				Input: &types.CountTokensInputMemberConverse{Value: types.ConverseTokensRequest{Messages: msgs}}})
			if err != nil {
				t.Fatal(err)
			}
			if got := aws.ToInt32(count.InputTokens); int64(got) != tt.wantInput {
				t.Errorf("CountTokens = %d, want %d", got, tt.wantInput)
			}
		})
	}
}

func TestMediaValidation(t *testing.T) {
	many := func(n int, b types.ContentBlock) []types.ContentBlock {
		blocks := []types.ContentBlock{text("look")}
		for range n {
			blocks = append(blocks, b)
		}
		return blocks
	}
	tests := []struct {
		name     string
		model    string
		blocks   []types.ContentBlock
		contains string
	}{
		{"image format", testModel, []types.ContentBlock{imageBytes("bmp", 10)},
			"Value 'bmp' at 'messages.0.content.0.image.format' failed to satisfy constraint: Member must satisfy enum value set: [png, jpeg, gif, webp]"},
		{"image one byte too big", testModel, []types.ContentBlock{text("x"), imageBytes(types.ImageFormatPng, MaxImageBytes+1)},
			"messages.0.content.1.image.source.bytes: image exceeds 5 MB maximum: 5242884 bytes > 5242880 bytes"},
		{"21 images", testModel, many(21, imageBytes(types.ImageFormatGif, 10)), "too many images: 21 > 20"},
		{"document format", testModel, []types.ContentBlock{docBytes("rtf", "a", []byte("x"))}, "Value 'rtf' at 'messages.0.content.0.document.format'"},
		{"document too big", testModel, []types.ContentBlock{docBytes(types.DocumentFormatPdf, "big", make([]byte, MaxDocumentBytes+1))},
			"document exceeds 4.5 MB maximum: 4718593 bytes > 4718592 bytes"},
		{"6 documents", testModel, many(6, docText(types.DocumentFormatTxt, "d", "x")), "too many documents: 6 > 5"},
		{"document name with a dot", testModel, []types.ContentBlock{docText(types.DocumentFormatTxt, "report.txt", "x")},
			"The document file name can only contain alphanumeric characters"},
		{"document name with two spaces", testModel, []types.ContentBlock{docText(types.DocumentFormatTxt, "a  b", "x")},
			"can't contain more than one consecutive whitespace character"},
		{"empty document name", testModel, []types.ContentBlock{docText(types.DocumentFormatTxt, "", "x")},
			"'messages.0.content.0.document.name' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{"s3 image on Claude", testModel, []types.ContentBlock{imageS3("s3://b/k.png", "")},
			"messages.0.content.0.image.source.type: Field required (bedrocktest: model " + testModel + " doesn't support an s3Location source"},
		{"s3 document on Claude", testModel, []types.ContentBlock{docS3(types.DocumentFormatPdf, "doc", "s3://b/k.pdf")},
			"document.source.type: Field required"},
	}
	srv, client := newServer(t, Options{S3LocationModels: []string{novaModel}})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := client.Converse(testCtx(t), &bedrockruntime.ConverseInput{ModelId: aws.String(tt.model), Messages: userBlocks(tt.blocks...)})
			expectAPIError(t, err, "ValidationException", tt.contains)
		})
	}
	n := int64(len(tests))
	checkStats(t, srv, Stats{Requests: n, Invalid: n})
}

func TestValidDocumentName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"report", true}, {"Q3 report (final) [v2]", true}, {"año-2024", true}, {"a\tb", true},
		{"a  b", false}, {"a\t b", false}, {"report.pdf", false}, {"a_b", false}, {"a/b", false}, {"a:b", false},
	}
	for _, tt := range tests {
		if got := validDocumentName(tt.name); got != tt.ok {
			t.Errorf("validDocumentName(%q) = %v, want %v", tt.name, got, tt.ok)
		}
	}
}
