package reader

import (
	"strings"
	"testing"
)

func TestJSONLContent(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		in   []string // lines
		want []string // renderRecord of each record
	}{
		{
			name: "documents field out of the box",
			in:   []string{`{"id":1,"prompt":"Summarize","documents":["s3://b/k.pdf"]}`},
			want: []string{`{"id":"1","origin":"in.jsonl:1","messages":[{"role":"user","content":["document pdf name=k loc=s3://b/k.pdf","text:Summarize"]}]}`},
		},
		{
			name: "documents before images before the text, strings or arrays, data URIs",
			in: []string{
				`{"prompt":"Compare","images":["./img/a.JPG","data:image/png;base64,` + png64 + `"],"documents":"docs/My report_v2.final.PDF"}`,
				`{"prompt":"p","documents":[],"images":null}`,
				`{"prompt":"p","documents":"data:application/pdf;base64,` + pdf64 + `"}`,
			},
			want: []string{
				`{"id":"in.jsonl:1","origin":"in.jsonl:1","messages":[{"role":"user","content":["document pdf name=My report-v2-final loc=docs/My report_v2.final.PDF","image jpeg loc=./img/a.JPG","image png bytes=16:89504e47","text:Compare"]}]}`,
				`{"id":"in.jsonl:2","origin":"in.jsonl:2","messages":[{"role":"user","text":["p"]}]}`,
				`{"id":"in.jsonl:3","origin":"in.jsonl:3","messages":[{"role":"user","content":["document pdf bytes=15:25504446","text:p"]}]}`,
			},
		},
		{
			name: "every document format by extension",
			in:   []string{`{"prompt":"p","documents":["a.pdf","b.csv","c.doc","d.docx","e.xls","f.xlsx","g.html","h.htm","i.txt","j.md","k.markdown"],"images":["a.png","b.jpg","c.jpeg","d.gif","e.webp"]}`},
			want: []string{`{"id":"in.jsonl:1","origin":"in.jsonl:1","messages":[{"role":"user","content":["document pdf name=a loc=a.pdf","document csv name=b loc=b.csv","document doc name=c loc=c.doc","document docx name=d loc=d.docx","document xls name=e loc=e.xls","document xlsx name=f loc=f.xlsx","document html name=g loc=g.html","document html name=h loc=h.htm","document txt name=i loc=i.txt","document md name=j loc=j.md","document md name=k loc=k.markdown","image png loc=a.png","image jpeg loc=b.jpg","image jpeg loc=c.jpeg","image gif loc=d.gif","image webp loc=e.webp","text:p"]}]}`},
		},
		{
			name: "media go to the first user message of a conversation",
			in:   []string{`{"messages":[{"role":"user","content":"Look"},{"role":"assistant","content":"At what?"},{"role":"user","content":"This"}],"images":"s3://b/x.png"}`},
			want: []string{`{"id":"in.jsonl:1","origin":"in.jsonl:1","messages":[{"role":"user","content":["image png loc=s3://b/x.png","text:Look"]},{"role":"assistant","text":["At what?"]},{"role":"user","text":["This"]}]}`},
		},
		{
			name: "bad document and image fields name the field",
			in: []string{
				`{"prompt":"p","documents":["a.pdf","b.exe"]}`,
				`{"prompt":"p","images":"https://example.com/a.png"}`,
				`{"prompt":"p","images":["a.pdf"]}`,
				`{"prompt":"p","images":[5]}`,
				`{"prompt":"p","documents":{"uri":"a.pdf"}}`,
				`{"prompt":"p","documents":"noextension"}`,
				`{"prompt":"p","images":"data:image/bmp;base64,AAAA"}`,
				`{"prompt":"p","images":"data:image/png;base64,@@@"}`,
				`{"prompt":"p","images":"data:image/png,rawtext"}`,
				`{"prompt":"p","documents":"gs://b/a.pdf"}`,
				`{"prompt":"p","documents":"s3://bucket-only"}`,
				`{"prompt":"p","documents":""}`,
			},
			want: []string{
				`{"id":"in.jsonl:1","origin":"in.jsonl:1","err_field":"documents[1]","err":"unknown document extension \".exe\": want pdf, csv, doc, docx, xls, xlsx, html, txt or md"}`,
				`{"id":"in.jsonl:2","origin":"in.jsonl:2","err_field":"images","err":"remote URLs are not fetched; use a data: URI, an s3:// URI or a local path"}`,
				`{"id":"in.jsonl:3","origin":"in.jsonl:3","err_field":"images[0]","err":"unknown image extension \".pdf\": want png, jpeg, gif or webp"}`,
				`{"id":"in.jsonl:4","origin":"in.jsonl:4","err_field":"images[0]","err":"must be a string (an s3:// URI, a path or a data: URI), got a number"}`,
				`{"id":"in.jsonl:5","origin":"in.jsonl:5","err_field":"documents","err":"must be a string (an s3:// URI, a path or a data: URI), got an object"}`,
				`{"id":"in.jsonl:6","origin":"in.jsonl:6","err_field":"documents","err":"\"noextension\" has no extension to tell its document format from"}`,
				`{"id":"in.jsonl:7","origin":"in.jsonl:7","err_field":"images","err":"unsupported media type \"image/bmp\" for a image: want png, jpeg, gif or webp"}`,
				`{"id":"in.jsonl:8","origin":"in.jsonl:8","err_field":"images","err":"data: URI is not valid base64: illegal base64 data at input byte 0"}`,
				`{"id":"in.jsonl:9","origin":"in.jsonl:9","err_field":"images","err":"data: URI must be base64-encoded (data:\u003cmime\u003e;base64,...)"}`,
				`{"id":"in.jsonl:10","origin":"in.jsonl:10","err_field":"documents","err":"unsupported URI scheme \"gs\": want s3://, a local path or a data: URI"}`,
				`{"id":"in.jsonl:11","origin":"in.jsonl:11","err_field":"documents","err":"\"s3://bucket-only\" is not an s3://bucket/key URI"}`,
				`{"id":"in.jsonl:12","origin":"in.jsonl:12","err_field":"documents","err":"must not be empty"}`,
			},
		},
		{
			name: "other document and image fields; none",
			opts: Options{DocumentFields: []string{"attachments", "pdfs"}, ImageFields: []string{}},
			in: []string{
				`{"prompt":"p","pdfs":"b.pdf","attachments":["a.txt"],"documents":"ignored.pdf","images":"ignored.png"}`,
			},
			want: []string{
				`{"id":"in.jsonl:1","origin":"in.jsonl:1","messages":[{"role":"user","content":["document txt name=a loc=a.txt","document pdf name=b loc=b.pdf","text:p"]}]}`,
			},
		},
		{
			name: "Converse content blocks and our shorthand in messages",
			in: []string{
				`{"id":"c","messages":[{"role":"user","content":[` +
					`{"document":{"format":"pdf","name":"Q3 report","source":{"s3Location":{"uri":"s3://b/q3","bucketOwner":"111122223333"}}}},` +
					`{"image":{"format":"png","source":{"bytes":"` + png64 + `"}}},` +
					`{"image":{"source":{"bytes":"` + png64 + `"}}},` +
					`{"image":{"source":{"s3Location":{"uri":"s3://b/y.WEBP"}}}},` +
					`{"document":"./docs/a.pdf"},{"image":"s3://b/x.gif"},` +
					`{"type":"text","text":"What changed?"},{"cachePoint":{"type":"default"}},{"cachePoint":{}}]}]}`,
			},
			want: []string{`{"id":"c","origin":"in.jsonl:1","messages":[{"role":"user","content":["document pdf name=Q3 report loc=s3://b/q3 owner=111122223333","image png bytes=16:89504e47","image png bytes=16:89504e47","image webp loc=s3://b/y.WEBP","document pdf name=a loc=./docs/a.pdf","image gif loc=s3://b/x.gif","text:What changed?","cachePoint","cachePoint"]}]}`},
		},
		{
			name: "bad content blocks name the field",
			in: []string{
				`{"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":[{"image":{"format":"bmp","source":{"bytes":"` + png64 + `"}}}]}]}`,
				`{"messages":[{"role":"user","content":[{"image":{"source":{"bytes":"AAAA"}}}]}]}`,
				`{"messages":[{"role":"user","content":[{"document":{"format":"pdf","source":{}}}]}]}`,
				`{"messages":[{"role":"user","content":[{"document":{"format":"pdf","source":{"bytes":"` + pdf64 + `","s3Location":{"uri":"s3://b/k"}}}}]}]}`,
				`{"messages":[{"role":"user","content":[{"document":{"format":"pdf","source":{"s3Location":{"uri":"https://x/y.pdf"}}}}]}]}`,
				`{"messages":[{"role":"user","content":[{"document":{"source":{"s3Location":{"uri":"s3://b/noext"}}}}]}]}`,
				`{"messages":[{"role":"user","content":[{"image":{"format":"png","source":{"bytes":"!!"}}}]}]}`,
				`{"messages":[{"role":"user","content":[{"text":"a","image":"b.png"}]}]}`,
				`{"messages":[{"role":"user","content":[{"cachePoint":{"type":"ephemeral"}}]}]}`,
				`{"messages":[{"role":"user","content":[{"image":7}]}]}`,
				`{"messages":[{"role":"user","content":[{"document":{"format":"pdf","name":5,"source":{"bytes":"` + pdf64 + `"}}}]}]}`,
				`{"messages":[{"role":"user","content":[{"document":{"format":"pdf","source":{"s3Location":{"uri":"s3://b/k.pdf","bucketOwner":1}}}}]}]}`,
			},
			want: []string{
				`{"id":"in.jsonl:1","origin":"in.jsonl:1","err_field":"messages[1].content[0].image.format","err":"unknown image format \"bmp\": want png, jpeg, gif or webp"}`,
				`{"id":"in.jsonl:2","origin":"in.jsonl:2","err_field":"messages[0].content[0].image.format","err":"missing, and it cannot be told from the source"}`,
				`{"id":"in.jsonl:3","origin":"in.jsonl:3","err_field":"messages[0].content[0].document.source","err":"must have \"bytes\" or \"s3Location\""}`,
				`{"id":"in.jsonl:4","origin":"in.jsonl:4","err_field":"messages[0].content[0].document.source","err":"must have only one of \"bytes\" and \"s3Location\""}`,
				`{"id":"in.jsonl:5","origin":"in.jsonl:5","err_field":"messages[0].content[0].document.source.s3Location.uri","err":"must be an s3:// URI"}`,
				`{"id":"in.jsonl:6","origin":"in.jsonl:6","err_field":"messages[0].content[0].document.format","err":"missing, and it cannot be told from the source"}`,
				`{"id":"in.jsonl:7","origin":"in.jsonl:7","err_field":"messages[0].content[0].image.source.bytes","err":"is not valid base64: illegal base64 data at input byte 0"}`,
				`{"id":"in.jsonl:8","origin":"in.jsonl:8","err_field":"messages[0].content[0]","err":"must have only one of \"text\", \"image\", \"document\" and \"cachePoint\""}`,
				`{"id":"in.jsonl:9","origin":"in.jsonl:9","err_field":"messages[0].content[0].cachePoint.type","err":"must be \"default\""}`,
				`{"id":"in.jsonl:10","origin":"in.jsonl:10","err_field":"messages[0].content[0].image","err":"must be a string (an s3:// URI, a path or a data: URI) or an object, got a number"}`,
				`{"id":"in.jsonl:11","origin":"in.jsonl:11","err_field":"messages[0].content[0].document.name","err":"must be a string, got a number"}`,
				`{"id":"in.jsonl:12","origin":"in.jsonl:12","err_field":"messages[0].content[0].document.source.s3Location.bucketOwner","err":"must be a string, got a number"}`,
			},
		},
		{
			name: "system blocks",
			in: []string{
				`{"prompt":"p","system":[{"text":"Be brief."},{"text":"Use French."},{"cachePoint":{"type":"default"}}]}`,
				`{"prompt":"p","system":[{"text":"Only text."}]}`,
				`{"prompt":"p","system":[{"cachePoint":{"type":"default"}},{"text":"late"}]}`,
				`{"prompt":"p","system":[{"text":"a"},{"cachePoint":{}},{"text":"b"}]}`,
				`{"prompt":"p","system":[]}`,
				`{"prompt":"p","system":[{"image":"a.png"}]}`,
				`{"prompt":"p","system":[{"text":""}]}`,
			},
			want: []string{
				`{"id":"in.jsonl:1","origin":"in.jsonl:1","messages":[{"role":"user","text":["p"]}],"system":"Be brief.\n\nUse French.","cache_system":true}`,
				`{"id":"in.jsonl:2","origin":"in.jsonl:2","messages":[{"role":"user","text":["p"]}],"system":"Only text."}`,
				`{"id":"in.jsonl:3","origin":"in.jsonl:3","err_field":"system[0]","err":"a cachePoint must follow the system text"}`,
				`{"id":"in.jsonl:4","origin":"in.jsonl:4","err_field":"system[2]","err":"a cachePoint is only supported after the last text block"}`,
				`{"id":"in.jsonl:5","origin":"in.jsonl:5","err_field":"system","err":"must not be empty"}`,
				`{"id":"in.jsonl:6","origin":"in.jsonl:6","err_field":"system[0]","err":"only \"text\" and \"cachePoint\" blocks are supported in a system prompt"}`,
				`{"id":"in.jsonl:7","origin":"in.jsonl:7","err_field":"system[0].text","err":"must not be empty"}`,
			},
		},
		{
			name: "renamed id and prompt fields",
			opts: Options{IDField: "doc_id", PromptField: "question"},
			in: []string{
				`{"doc_id":"d1","question":"Why?","id":"ignored","prompt":"ignored too"}`,
				`{"doc_id":2.5,"question":"Why?"}`,
				`{"doc_id":"d3","prompt":"not the prompt field"}`,
				`{"doc_id":"d4","question":"q","messages":[{"role":"user","content":"m"}]}`,
			},
			want: []string{
				`{"id":"d1","origin":"in.jsonl:1","messages":[{"role":"user","text":["Why?"]}]}`,
				`{"id":"in.jsonl:2","origin":"in.jsonl:2","err_field":"doc_id","err":"must be a string or an integer, got 2.5"}`,
				`{"id":"d3","origin":"in.jsonl:3","err_field":"question","err":"missing: a record needs \"question\" or \"messages\""}`,
				`{"id":"d4","origin":"in.jsonl:4","err_field":"messages","err":"\"question\" and \"messages\" are both set; use one"}`,
			},
		},
		{
			name: "optional prompt and kept fields for templates",
			opts: Options{PromptOptional: true, KeepFields: true},
			in: []string{
				`{"id":"t1","title":"Q3","n":12345678901234567890,"price":0.10,"tags":["a"],"ok":true,"none":null}`,
				`{"id":"t2","documents":"s3://b/r.pdf","title":"R"}`,
				`{"id":"t3","prompt":"given","x":1}`,
			},
			want: []string{
				`{"id":"t1","origin":"in.jsonl:1","fields":{"id":"string(t1)","n":"json.Number(12345678901234567890)","none":"\u003cnil\u003e(\u003cnil\u003e)","ok":"bool(true)","price":"json.Number(0.10)","tags":"[]interface {}([a])","title":"string(Q3)"}}`,
				`{"id":"t2","origin":"in.jsonl:2","messages":[{"role":"user","content":["document pdf name=r loc=s3://b/r.pdf"]}],"fields":{"documents":"string(s3://b/r.pdf)","id":"string(t2)","title":"string(R)"}}`,
				`{"id":"t3","origin":"in.jsonl:3","messages":[{"role":"user","text":["given"]}],"fields":{"id":"string(t3)","prompt":"string(given)","x":"json.Number(1)"}}`,
			},
		},
		{
			name: "per-record model and inference parameters",
			in: []string{
				`{"prompt":"p","model":"anthropic.claude-3-haiku","inference_config":{"max_tokens":512,"temperature":0,"top_p":0.9,"stop_sequences":["\n\nHuman:","END"]},"additional_model_request_fields":{"top_k":50}}`,
				`{"prompt":"p","inference_config":{"temperature":1.5,"max_tokens":null},"model":null,"additional_model_request_fields":null}`,
				`{"prompt":"p","inference_config":{"stop_sequences":[]}}`,
				`{"prompt":"p","inference_config":{"max_tokens":2147483647,"temperature":7}}`,
			},
			want: []string{
				`{"id":"in.jsonl:1","origin":"in.jsonl:1","messages":[{"role":"user","text":["p"]}],"model":"anthropic.claude-3-haiku","inference":"max_tokens=512 temperature=0 top_p=0.9 stop=[\"\\n\\nHuman:\" \"END\"]","additional":"{\"top_k\":50}"}`,
				`{"id":"in.jsonl:2","origin":"in.jsonl:2","messages":[{"role":"user","text":["p"]}],"inference":"temperature=1.5"}`,
				`{"id":"in.jsonl:3","origin":"in.jsonl:3","messages":[{"role":"user","text":["p"]}],"inference":"stop=[]"}`,
				`{"id":"in.jsonl:4","origin":"in.jsonl:4","messages":[{"role":"user","text":["p"]}],"inference":"max_tokens=2147483647 temperature=7"}`,
			},
		},
		{
			name: "bad overrides name the field",
			in: []string{
				`{"prompt":"p","model":5}`,
				`{"prompt":"p","model":""}`,
				`{"prompt":"p","inference_config":[]}`,
				`{"prompt":"p","inference_config":{"max_tokens":0}}`,
				`{"prompt":"p","inference_config":{"max_tokens":1.5}}`,
				`{"prompt":"p","inference_config":{"max_tokens":3000000000}}`,
				`{"prompt":"p","inference_config":{"max_tokens":"10"}}`,
				`{"prompt":"p","inference_config":{"temperature":-0.1}}`,
				`{"prompt":"p","inference_config":{"temperature":"hot"}}`,
				`{"prompt":"p","inference_config":{"top_p":1e39}}`,
				`{"prompt":"p","inference_config":{"stop_sequences":"END"}}`,
				`{"prompt":"p","inference_config":{"stop_sequences":["a",""]}}`,
				`{"prompt":"p","inference_config":{"maxTokens":10}}`,
				`{"prompt":"p","additional_model_request_fields":[1]}`,
			},
			want: []string{
				`{"id":"in.jsonl:1","origin":"in.jsonl:1","err_field":"model","err":"must be a string (a model id or ARN), got a number"}`,
				`{"id":"in.jsonl:2","origin":"in.jsonl:2","err_field":"model","err":"must not be empty"}`,
				`{"id":"in.jsonl:3","origin":"in.jsonl:3","err_field":"inference_config","err":"must be an object, got an array"}`,
				`{"id":"in.jsonl:4","origin":"in.jsonl:4","err_field":"inference_config.max_tokens","err":"must be from 1 to 2147483647, got 0"}`,
				`{"id":"in.jsonl:5","origin":"in.jsonl:5","err_field":"inference_config.max_tokens","err":"must be an integer, got 1.5"}`,
				`{"id":"in.jsonl:6","origin":"in.jsonl:6","err_field":"inference_config.max_tokens","err":"must be from 1 to 2147483647, got 3000000000"}`,
				`{"id":"in.jsonl:7","origin":"in.jsonl:7","err_field":"inference_config.max_tokens","err":"must be an integer, got a string"}`,
				`{"id":"in.jsonl:8","origin":"in.jsonl:8","err_field":"inference_config.temperature","err":"must be a finite number ≥ 0, got -0.1"}`,
				`{"id":"in.jsonl:9","origin":"in.jsonl:9","err_field":"inference_config.temperature","err":"must be a number, got a string"}`,
				`{"id":"in.jsonl:10","origin":"in.jsonl:10","err_field":"inference_config.top_p","err":"must be a finite number ≥ 0, got 1e+39"}`,
				`{"id":"in.jsonl:11","origin":"in.jsonl:11","err_field":"inference_config.stop_sequences","err":"must be an array of strings, got a string"}`,
				`{"id":"in.jsonl:12","origin":"in.jsonl:12","err_field":"inference_config.stop_sequences[1]","err":"must not be empty"}`,
				`{"id":"in.jsonl:13","origin":"in.jsonl:13","err_field":"inference_config.maxTokens","err":"unknown inference parameter: want max_tokens, temperature, top_p or stop_sequences"}`,
				`{"id":"in.jsonl:14","origin":"in.jsonl:14","err_field":"additional_model_request_fields","err":"must be a JSON object, got an array"}`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewJSONLWith(strings.NewReader(strings.Join(tt.in, "\n")), "some/dir/in.jsonl", tt.opts)
			checkRendered(t, readAll(t, r), "some/dir/", tt.want)
		})
	}
}
