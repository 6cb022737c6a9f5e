package web

import (
	"errors"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/tradai/tradai/internal/registry"
	"github.com/tradai/tradai/internal/strategy"
)

// strategyItem is a strategy in the list.
type strategyItem struct {
	Name, Description, Kind string
	Versions                int
	Production, Staging     string
}

type strategiesView struct {
	Items []strategyItem
}

func (s *Server) strategiesPage(w http.ResponseWriter, r *http.Request, sess *session) {
	var v strategiesView
	b := strategy.Builtins()
	for _, n := range strategy.Names() {
		v.Items = append(v.Items, strategyItem{Name: n, Description: b[n].Spec().Description, Kind: "built-in"})
	}
	if s.d.Registry != nil {
		names, err := s.d.Registry.Names(r.Context(), sess.p)
		if err != nil {
			s.fail(w, r, sess, "listing strategies", err)
			return
		}
		for _, n := range names {
			vs, err := s.d.Registry.Versions(r.Context(), sess.p, n)
			if err != nil {
				s.fail(w, r, sess, "listing the versions of "+n, err)
				return
			}
			it := strategyItem{Name: n, Kind: "registry", Versions: len(vs)}
			for _, ver := range vs {
				switch ver.Stage {
				case registry.StageProduction:
					it.Production = strconv.Itoa(ver.Number)
				case registry.StageStaging:
					it.Staging = strconv.Itoa(ver.Number)
				}
				it.Description = ver.Spec.Description
			}
			v.Items = append(v.Items, it)
		}
	}
	s.render(w, r, http.StatusOK, s.page(sess, "Strategies", "strategies", strategiesBody(v)))
}

type versionRow struct {
	Number                          int
	Stage, Created, Message, SHA256 string
	Runtime, Tags                   string
}

type changeRow struct{ When, Version, From, To, By, Reason string }

type strategyView struct {
	Name     string
	Versions []versionRow
	History  []changeRow
	Stages   []string
	Message  string
}

// versions lists the tenant's versions of the strategy name, answering
// the page itself (not found, or the failure) when it cannot.
func (s *Server) versions(w http.ResponseWriter, r *http.Request, sess *session, name string) ([]registry.Version, bool) {
	if s.d.Registry == nil {
		s.notFound(w, r, sess)
		return nil, false
	}
	vs, err := s.d.Registry.Versions(r.Context(), sess.p, name)
	if errors.Is(err, registry.ErrNotFound) {
		s.notFound(w, r, sess)
		return nil, false
	}
	if err != nil {
		s.fail(w, r, sess, "listing versions", err)
		return nil, false
	}
	return vs, true
}

func (s *Server) strategyPage(w http.ResponseWriter, r *http.Request, sess *session) {
	name := r.PathValue("name")
	vs, ok := s.versions(w, r, sess, name)
	if !ok {
		return
	}
	v := strategyView{Name: name, Stages: []string{string(registry.StageStaging), string(registry.StageProduction), string(registry.StageArchived)},
		Message: r.URL.Query().Get("done")}
	for i := len(vs) - 1; i >= 0; i-- {
		ver := vs[i]
		var tags []string
		for _, k := range slices.Sorted(maps.Keys(ver.Tags)) {
			tags = append(tags, k+"="+ver.Tags[k])
		}
		v.Versions = append(v.Versions, versionRow{Number: ver.Number, Stage: string(ver.Stage), Created: ver.Created.UTC().Format("2006-01-02 15:04"),
			Message: ver.Message, SHA256: short(ver.SHA256), Runtime: string(ver.Runtime), Tags: strings.Join(tags, " ")})
	}
	hist, err := s.d.Registry.History(r.Context(), sess.p, name)
	if err != nil {
		s.fail(w, r, sess, "reading the stage history", err)
		return
	}
	for i := len(hist) - 1; i >= 0; i-- {
		h := hist[i]
		v.History = append(v.History, changeRow{When: h.At.UTC().Format("2006-01-02 15:04"), Version: strconv.Itoa(h.Number),
			From: string(h.From), To: string(h.To), By: h.By, Reason: h.Reason})
	}
	s.render(w, r, http.StatusOK, s.page(sess, "Strategy "+name, "strategies", strategyBody(v)))
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}

type diffView struct {
	Name, From, To string
	Versions       []int
	Code, Spec     []diffLine
	Problem        string
}

// diffLine is a line of a unified diff with its kind for colouring.
type diffLine struct{ Text, Class string }

func lines(diff string) []diffLine {
	var out []diffLine
	for l := range strings.SplitSeq(strings.TrimSuffix(diff, "\n"), "\n") {
		c := ""
		switch {
		case strings.HasPrefix(l, "+++"), strings.HasPrefix(l, "---"):
			c = "hdr"
		case strings.HasPrefix(l, "+"):
			c = "add"
		case strings.HasPrefix(l, "-"):
			c = "del"
		case strings.HasPrefix(l, "@@"):
			c = "hunk"
		}
		out = append(out, diffLine{l, c})
	}
	return out
}

func (s *Server) diffPage(w http.ResponseWriter, r *http.Request, sess *session) {
	name := r.PathValue("name")
	vs, ok := s.versions(w, r, sess, name)
	if !ok {
		return
	}
	v := diffView{Name: name, From: r.URL.Query().Get("from"), To: r.URL.Query().Get("to")}
	for _, ver := range vs {
		v.Versions = append(v.Versions, ver.Number)
	}
	if v.From == "" && len(vs) > 1 {
		v.From = strconv.Itoa(vs[len(vs)-2].Number)
	}
	if v.To == "" {
		v.To = strconv.Itoa(vs[len(vs)-1].Number)
	}
	d, err := s.d.Registry.Diff(r.Context(), sess.p, name+"@"+v.From, name+"@"+v.To)
	switch {
	case errors.Is(err, registry.ErrNotFound), errors.Is(err, registry.ErrInvalid):
		v.Problem = "Pick two versions of " + name + "."
	case err != nil:
		s.fail(w, r, sess, "comparing versions", err)
		return
	default:
		if d.Code != "" {
			v.Code = lines(d.Code)
		}
		if d.Spec != "" {
			v.Spec = lines(d.Spec)
		}
	}
	s.render(w, r, http.StatusOK, s.page(sess, "Diff of "+name, "strategies", diffBody(v)))
}

type confirmView struct {
	Title, Question, Action, Button, Back string
	Stages                                []string
	Problem                               string
}

func (s *Server) versionRef(w http.ResponseWriter, r *http.Request, sess *session) (registry.Version, bool) {
	if s.d.Registry == nil {
		s.notFound(w, r, sess)
		return registry.Version{}, false
	}
	ver, err := s.d.Registry.Get(r.Context(), sess.p, r.PathValue("name")+"@"+r.PathValue("version"))
	if errors.Is(err, registry.ErrNotFound) || errors.Is(err, registry.ErrInvalid) {
		s.notFound(w, r, sess)
		return registry.Version{}, false
	}
	if err != nil {
		s.fail(w, r, sess, "reading the version", err)
		return registry.Version{}, false
	}
	return ver, true
}

// promoteConfirm asks before a version changes stage.
func (s *Server) promoteConfirm(w http.ResponseWriter, r *http.Request, sess *session) {
	ver, ok := s.versionRef(w, r, sess)
	if !ok {
		return
	}
	stage := r.URL.Query().Get("stage")
	if _, err := registry.ParseStage(stage); err != nil || stage == "" {
		stage = string(registry.StageProduction)
	}
	v := confirmView{
		Title:    "Promote " + ver.Ref(),
		Question: "Move " + ver.Ref() + " (now " + string(ver.Stage) + ") to " + stage + "?",
		Action:   "/strategies/" + ver.Name + "/versions/" + strconv.Itoa(ver.Number) + "/promote",
		Button:   "Promote to " + stage, Back: "/strategies/" + ver.Name, Stages: []string{stage},
	}
	if stage == string(registry.StageProduction) {
		v.Question += " The version in production now is archived."
	}
	s.render(w, r, http.StatusOK, s.page(sess, v.Title, "strategies", confirmBody(v, sess.csrf)))
}

func (s *Server) promote(w http.ResponseWriter, r *http.Request, sess *session) {
	ver, ok := s.versionRef(w, r, sess)
	if !ok {
		return
	}
	stage, err := registry.ParseStage(r.PostFormValue("stage"))
	if err != nil {
		http.Error(w, "unknown stage", http.StatusUnprocessableEntity)
		return
	}
	moved, err := s.d.Registry.Promote(r.Context(), sess.p, ver.Ref(), stage, strings.TrimSpace(r.PostFormValue("reason")))
	if errors.Is(err, registry.ErrInvalid) || errors.Is(err, registry.ErrConflict) {
		s.render(w, r, http.StatusUnprocessableEntity, s.page(sess, "Promote", "strategies", errorBody("Not promoted", err.Error())))
		return
	}
	if err != nil {
		s.fail(w, r, sess, "promoting the version", err)
		return
	}
	http.Redirect(w, r, "/strategies/"+moved.Name+"?done="+moved.Ref()+"+is+now+"+string(moved.Stage), http.StatusSeeOther)
}

func (s *Server) rollbackConfirm(w http.ResponseWriter, r *http.Request, sess *session) {
	name := r.PathValue("name")
	if s.d.Registry == nil {
		s.notFound(w, r, sess)
		return
	}
	cur, err := s.d.Registry.Get(r.Context(), sess.p, name+"@production")
	if errors.Is(err, registry.ErrNotFound) || errors.Is(err, registry.ErrInvalid) {
		s.notFound(w, r, sess)
		return
	}
	if err != nil {
		s.fail(w, r, sess, "reading the production version", err)
		return
	}
	v := confirmView{
		Title:    "Roll back " + name,
		Question: "Archive " + cur.Ref() + " and put the version that was in production before it back?",
		Action:   "/strategies/" + name + "/rollback", Button: "Roll back", Back: "/strategies/" + name,
	}
	s.render(w, r, http.StatusOK, s.page(sess, v.Title, "strategies", confirmBody(v, sess.csrf)))
}

func (s *Server) rollback(w http.ResponseWriter, r *http.Request, sess *session) {
	name := r.PathValue("name")
	if s.d.Registry == nil {
		s.notFound(w, r, sess)
		return
	}
	if _, err := s.d.Registry.Versions(r.Context(), sess.p, name); errors.Is(err, registry.ErrNotFound) {
		s.notFound(w, r, sess)
		return
	}
	ver, err := s.d.Registry.Rollback(r.Context(), sess.p, name, strings.TrimSpace(r.PostFormValue("reason")))
	if errors.Is(err, registry.ErrNotFound) {
		s.notFound(w, r, sess)
		return
	}
	if errors.Is(err, registry.ErrInvalid) || errors.Is(err, registry.ErrConflict) {
		s.render(w, r, http.StatusUnprocessableEntity, s.page(sess, "Roll back", "strategies", errorBody("Not rolled back", err.Error())))
		return
	}
	if err != nil {
		s.fail(w, r, sess, "rolling back", err)
		return
	}
	http.Redirect(w, r, "/strategies/"+name+"?done="+ver.Ref()+"+is+back+in+production", http.StatusSeeOther)
}
