package rules

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/fsnotify/fsnotify"
	"k8s.io/klog/v2"
)

// Store holds the rules in force. Readers take Current() once per request.
type Store struct {
	cur atomic.Pointer[Set]
}

// NewStore returns a store holding s.
func NewStore(s *Set) *Store {
	st := &Store{}
	st.cur.Store(s)
	return st
}

// Current returns the rules in force.
func (s *Store) Current() *Set { return s.cur.Load() }

// Replace puts new rules in force.
func (s *Store) Replace(set *Set) { s.cur.Store(set) }

// ReloadRecorder is told the outcome of every reload attempt.
type ReloadRecorder interface {
	RulesReloaded(ok bool)
}

// Watcher reloads a rules file into a Store when the file changes. It
// watches the file's directory, not the file: a Kubernetes ConfigMap volume
// updates by swapping a symlink, which a watch on the file itself misses.
type Watcher struct {
	Path     string
	Store    *Store
	Recorder ReloadRecorder
	// Debounce collapses the burst of events one update makes.
	Debounce time.Duration

	last []byte
}

// NewWatcher returns a watcher for path whose current content is already in
// store (loaded from data).
func NewWatcher(path string, data []byte, store *Store, rec ReloadRecorder) *Watcher {
	return &Watcher{Path: path, Store: store, Recorder: rec, Debounce: 200 * time.Millisecond, last: data}
}

// Run watches until ctx ends.
func (w *Watcher) Run(ctx context.Context) error {
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watch rules file %s: %w", w.Path, err)
	}
	defer fw.Close()
	dir := filepath.Dir(w.Path)
	if err := fw.Add(dir); err != nil {
		return fmt.Errorf("watch directory %s of rules file: %w", dir, err)
	}
	klog.InfoS("Watching rules file for changes", "path", w.Path, "directory", dir)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-fw.Events:
			if !ok {
				return nil
			}
			klog.V(4).InfoS("Rules directory event", "event", ev.String())
			timer.Reset(w.Debounce)
		case err, ok := <-fw.Errors:
			if !ok {
				return nil
			}
			klog.ErrorS(err, "Watching rules directory", "directory", dir)
		case <-timer.C:
			w.Reload()
		}
	}
}

// Reload reads the file and, when its content changed, validates it and
// puts it in force; an invalid file keeps the last good rules.
func (w *Watcher) Reload() {
	data, err := os.ReadFile(w.Path)
	if err == nil && bytes.Equal(data, w.last) {
		return
	}
	var set *Set
	if err == nil {
		set, err = Parse(w.Path, data)
	}
	if err != nil {
		// Remember the bad content so the same bad file is reported once.
		if data != nil {
			w.last = data
		}
		klog.ErrorS(err, "Rules file reload failed; keeping the last good rules", "path", w.Path)
		w.Recorder.RulesReloaded(false)
		return
	}
	w.last = data
	w.Store.Replace(set)
	klog.InfoS("Rules file reloaded", "path", w.Path, "metrics", set.Names())
	w.Recorder.RulesReloaded(true)
}
