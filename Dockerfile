# One image for every Waypost role: `waypost migrate|manager|worker|provider|all`.
FROM node:20-bookworm AS ui
WORKDIR /src/ui
COPY ui/package.json ui/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY ui/ ./
RUN npm run build

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
COPY sdk/go.mod sdk/go.sum ./sdk/
RUN go mod download
COPY . .
COPY --from=ui /src/ui/dist ./ui/dist
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o /out/waypost ./cmd/waypost

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/waypost /usr/local/bin/waypost
ENTRYPOINT ["/usr/local/bin/waypost"]
CMD ["all"]
